//===- GenerateTest.cpp - the sampler behind hfq generate -----------------===//
//
// Greedy picks the argmax (ties: lowest id); a temperature samples tokens
// with their softmax frequencies; top-p keeps only the most likely tokens
// reaching the mass; a seed repeats a run; bad options are errors.
//
//===----------------------------------------------------------------------===//

#include "hfq/Execution/Generate.h"

#include "gtest/gtest.h"

#include <cmath>
#include <map>

using namespace mlir::hfq;

namespace {

Sampler make(SamplingOptions o) { return llvm::cantFail(Sampler::create(o)); }

/// The error message of creating a sampler with `o` ("" when it succeeds).
std::string errorOf(SamplingOptions o) {
  auto s = Sampler::create(o);
  return s ? "" : llvm::toString(s.takeError());
}

TEST(Sampler, GreedyIsTheArgmaxWithLowestIdOnTies) {
  Sampler s = make({});
  EXPECT_EQ(s.next({0.5f, 3.0f, -1.0f, 2.0f}), 1);
  EXPECT_EQ(s.next({1.0f, 4.0f, 4.0f}), 1);
}

TEST(Sampler, TemperatureSamplesTheSoftmax) {
  // logits log(1), log(2), log(5) at temperature 1: p = 0.1, 0.2, 0.5,
  // and a fourth token at -inf-ish never appears.
  const std::vector<float> logits = {0.0f, std::log(2.0f), std::log(5.0f),
                                     -100.0f};
  Sampler s = make({/*temperature=*/1.0, /*topP=*/1.0, /*seed=*/7});
  std::map<int64_t, int> counts;
  const int n = 80000;
  for (int i = 0; i < n; ++i)
    ++counts[s.next(logits)];
  EXPECT_EQ(counts.count(3), 0u);
  // Binomial standard deviations are <= 0.0018 here; 4 of them.
  EXPECT_NEAR(counts[0] / double(n), 1.0 / 8, 0.007);
  EXPECT_NEAR(counts[1] / double(n), 2.0 / 8, 0.007);
  EXPECT_NEAR(counts[2] / double(n), 5.0 / 8, 0.007);
}

TEST(Sampler, TopPKeepsTheSmallestSetReachingTheMass) {
  // p = 1/8, 2/8, 5/8: top-p 0.6 keeps only the last token, 0.7 the two
  // most likely.
  const std::vector<float> logits = {0.0f, std::log(2.0f), std::log(5.0f)};
  Sampler only = make({1.0, 0.6, 1});
  Sampler two = make({1.0, 0.7, 1});
  std::map<int64_t, int> counts;
  for (int i = 0; i < 2000; ++i) {
    EXPECT_EQ(only.next(logits), 2);
    ++counts[two.next(logits)];
  }
  EXPECT_EQ(counts.count(0), 0u);
  EXPECT_GT(counts[1], 0);
  EXPECT_GT(counts[2], counts[1]);
}

TEST(Sampler, ASeedRepeatsARun) {
  const std::vector<float> logits = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f};
  Sampler a = make({0.8, 0.95, 42}), b = make({0.8, 0.95, 42}),
          c = make({0.8, 0.95, 43});
  std::vector<int64_t> ra, rb, rc;
  for (int i = 0; i < 64; ++i) {
    ra.push_back(a.next(logits));
    rb.push_back(b.next(logits));
    rc.push_back(c.next(logits));
  }
  EXPECT_EQ(ra, rb);
  EXPECT_NE(ra, rc);
}

TEST(Sampler, BadOptionsAreErrors) {
  EXPECT_EQ(errorOf({-0.5, 1.0, 0}), "temperature must be >= 0, got -0.5");
  EXPECT_EQ(errorOf({NAN, 1.0, 0}), "temperature must be >= 0, got nan");
  EXPECT_EQ(errorOf({1.0, 0.0, 0}), "top-p must be in (0, 1], got 0");
  EXPECT_EQ(errorOf({1.0, 1.5, 0}), "top-p must be in (0, 1], got 1.5");
  EXPECT_EQ(errorOf({1.0, 1.0, 0}), "");
}

} // namespace
