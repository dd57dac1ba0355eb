// RUN: python3 %S/Inputs/make_stats.py %t.stats.safetensors model.layers.0.mlp.up_proj 32
// RUN: hfq-opt %s --hfq-spqr="stats=%t.stats.safetensors report=true" 2>%t.log | FileCheck %s
// RUN: FileCheck %s --check-prefix=REPORT < %t.log
// RUN: hfq-opt %s --hfq-spqr="stats=%t.stats.safetensors outlier-threshold=-1" | FileCheck %s --check-prefix=NONE
// RUN: hfq-opt %s --hfq-spqr="stats=%t.stats.safetensors act-order=false" | FileCheck %s --check-prefix=STATIC
// RUN: hfq-opt %s --hfq-spqr="stats=%t.stats.safetensors" --hfq-lower-to-llvm -o /dev/null
// RUN: not hfq-opt %s --hfq-spqr 2>&1 | FileCheck %s --check-prefix=NOSTATS
// RUN: python3 %S/Inputs/make_stats.py %t.other.safetensors model.layers.1.mlp.up_proj 32
// RUN: not hfq-opt %s --hfq-spqr="stats=%t.other.safetensors" 2>&1 | FileCheck %s --check-prefix=OTHER
// RUN: not hfq-opt %s --hfq-spqr="stats=%t.stats.safetensors damp=0" 2>&1 | FileCheck %s --check-prefix=DAMP

// A 16x32 weight with a few large entries (every 53rd is 6x the rest): SpQR
// keeps 3-bit codes in groups of 16 inputs, their scales and zeros
// quantized to 3 bits per 16 rows with float second-level statistics (an
// #hfq.affine base whose scales and zeros are #hfq.affine codes along the
// rows: 2 groups of 3 bits pad to one byte a row), act-order's g_idx, and
// the entries whose Hessian-weighted error exceeds the threshold as float16
// outliers in CSR form (row pointers, columns, values).

// CHECK: hfq.quantization = {act_order = true, bits = 3 : i64, {{.*}}method = "spqr", outlier_threshold = 2.000000e-01 : f64, outliers = [[N:[1-9][0-9]*]] : i64
// CHECK: hfq.global @model.layers.0.mlp.up_proj.weight : !hfq.qtensor<16x32xf32, #hfq.spqr<base = #hfq.affine<bits = 3, granularity = group, group_size = 16, zero_point = float, act_order = true, scale_encoding = #hfq.affine<bits = 3, granularity = group, axis = 0, group_size = 16, zero_point = float>, zero_encoding = #hfq.affine<bits = 3, granularity = group, axis = 0, group_size = 16, zero_point = float>>, outliers = [[N]]>> = [
// CHECK-SAME: : tensor<16x12xi8>, {{.*}} : tensor<16x1xi8>, {{.*}} : tensor<1x2xf32>, {{.*}} : tensor<1x2xf32>, {{.*}} : tensor<16x1xi8>, {{.*}} : tensor<1x2xf32>, {{.*}} : tensor<1x2xf32>, {{.*}} : tensor<32xi32>, {{.*}} : tensor<17xi32>, {{.*}} : tensor<[[N]]xi32>, {{.*}} : tensor<[[N]]xf16>]
// CHECK: hfq.linear %{{.*}}, %{{.*}} : tensor<3x32xf32>, !hfq.qtensor<16x32xf32, #hfq.spqr<

// REPORT: model.layers.0.mlp.up_proj: [[N:[1-9][0-9]*]] outliers ({{[0-9.]+}}% of weights), dampening 1.00 x mean(diag H), 0 dead inputs
// REPORT: quantized model.layers.0.mlp.up_proj [16x32] spqr: rel_rmse
// REPORT: spqr: [[N]] outliers in 512 weights

// NONE: #hfq.spqr<base = #hfq.affine<bits = 3, granularity = group, group_size = 16, zero_point = float, act_order = true, scale_encoding = #hfq.affine<bits = 3, granularity = group, axis = 0, group_size = 16, zero_point = float>, zero_encoding = #hfq.affine<bits = 3, granularity = group, axis = 0, group_size = 16, zero_point = float>>, outliers = 0>
// STATIC: #hfq.spqr<base = #hfq.affine<bits = 3, granularity = group, group_size = 16, zero_point = float, scale_encoding = #hfq.affine<bits = 3, granularity = group, axis = 0, group_size = 16, zero_point = float>, zero_encoding = #hfq.affine<bits = 3, granularity = group, axis = 0, group_size = 16, zero_point = float>>, outliers = {{[0-9]+}}>>

// NOSTATS: error: hfq-spqr needs stats=<file> (from hfq calibrate)
// OTHER: error: model.layers.0.mlp.up_proj: {{.*}}other.safetensors has no statistics for 'model.layers.0.mlp.up_proj'
// DAMP: error: damp must be > 0

hfq.global @model.layers.0.mlp.up_proj.weight : tensor<16x32xf32> = dense<[[0.0,0.0549,0.213,0.418,0.4911,0.1908,-0.365,-0.3895,0.3433,0.2462,-0.5,0.3385,-0.0658,-0.1283,0.209,-0.1867,0.057,0.1827,-0.4416,0.4524,0.0089,-0.4915,0.0831,0.4988,0.252,-0.1785,-0.4308,-0.4984,-0.4941,-0.493,-0.4996,-0.4465],[0.1808,0.2309,0.3621,0.4889,0.4238,0.0108,-0.4639,-0.2498,0.4515,0.0721,-0.4654,0.4487,-0.2406,0.0551,0.0306,-0.0064,-0.1264,0.3386,-0.4965,0.3447,0.189,-2.9486,-0.1008,0.4523,0.3911,0.0025,-0.3098,-0.4504,-0.4884,-0.4897,-0.4586,-0.335],[0.3371,0.3756,0.4623,0.4937,0.2992,-0.1707,-0.5,-0.0763,0.4986,-0.1117,-0.3677,0.4981,-0.3828,0.2311,-0.152,0.1749,-0.2928,0.4488,-0.4842,0.1904,0.3436,-0.4249,-0.271,0.3446,0.4773,0.1831,-0.1469,-0.3413,-0.4165,-0.4201,-0.3555,-0.1781],[0.4478,0.4695,0.4999,0.4316,0.1341,-0.3291,-0.4684,0.1076,0.4783,-0.2803,-1.3221,0.4801,-0.4732,0.3758,-0.3139,0.3324,-0.4196,0.4981,-0.4064,0.0104,0.4517,-0.3008,-0.4046,0.1902,0.4989,0.339,0.0359,-0.1861,-0.2883,-0.2937,-0.2043,0.0029],[0.4979,0.4999,0.4698,0.3111,-0.0491,-0.4429,-0.3734,0.2769,0.3931,-0.4111,-0.0431,0.3972,-0.4996,0.4696,-0.4334,0.445,-0.4895,0.4801,-0.2736,-0.1711,0.4987,-0.136,-0.4835,0.0101,0.4529,0.4489,0.2138,-0.0057,-0.1211,-0.1275,-0.0255,1.1012],[0.4806,0.4626,0.3762,0.1485,-0.2257,-0.4968,-0.2279,0.4087,0.2548,-0.4862,0.1399,0.2605,-0.4583,0.4999,-0.4942,0.4973,-0.4932,0.397,-0.1038,-0.3294,0.4781,0.0472,-0.4969,-0.1713,0.3457,0.4982,0.3628,0.1755,0.0625,0.056,0.1568,0.3393],[0.3983,0.3627,0.2316,-0.0342,-0.3718,-0.4835,-0.0515,0.4852,0.082,-0.4955,0.304,0.0885,-0.355,0.4625,-0.4882,0.4824,-0.4302,0.2603,0.0801,-0.4432,2.3572,0.224,-0.443,-0.3296,0.1917,0.4799,0.4626,0.3329,0.2377,0.2319,0.3179,0.4491],[0.262,0.2137,0.0557,-0.2122,-0.4675,-0.4047,0.1318,0.496,-0.1019,-0.4377,0.427,-0.0954,-0.2037,0.3625,-0.416,0.4021,-0.3089,0.0883,0.2531,-0.4969,0.2544,0.3705,-0.3292,-0.4433,0.0117,0.3968,0.4999,0.4453,0.3807,0.3764,0.4359,0.4982],[0.0903,0.0358,-0.1278,-0.3616,-0.5,-0.2712,0.2973,0.4397,-0.272,-1.9243,0.4922,-0.2665,-0.0248,0.2135,-0.2876,0.2674,-0.1458,-0.0956,0.3919,-0.4834,0.0816,0.4668,-0.1708,-0.4969,-0.1698,0.2599,0.4695,0.4974,0.4721,0.4699,0.495,0.4798],[-0.0936,-0.147,-0.2939,-0.462,-0.4648,-0.1009,0.4226,0.3239,-0.4053,-0.1603,0.4907,-0.4014,0.1575,0.0355,-0.1202,0.0966,0.037,-0.2666,0.4777,-0.4045,-0.1023,0.5,0.0107,-0.4833,-0.3284,0.0879,0.3756,0.4822,0.4997,0.4999,2.9222,0.3965],[-0.2649,-0.3099,-0.4203,-0.4999,-0.3667,0.083,0.4906,0.1643,-0.4838,0.0218,0.4229,-0.4821,0.3184,-0.1472,0.0635,-0.0874,0.2148,-0.4016,0.4988,-0.2708,-0.2724,0.4655,0.1907,-0.4043,-0.4425,-0.0961,0.2308,0.4017,0.4596,0.4622,0.4132,0.2595],[-0.4003,-0.4308,-0.4898,-0.4701,-0.2189,0.2557,0.4923,-0.0176,-0.4967,0.201,0.2978,-0.4974,0.4363,-0.31,0.2385,-0.2595,0.3635,-0.4821,0.4524,-0.6028,-0.4056,0.368,0.3449,-0.2706,-0.4967,-0.267,0.0548,0.2669,0.3573,0.3619,0.2834,0.0874],[-0.4816,-0.4934,-0.493,-0.3767,-0.0415,0.3938,0.4273,-0.1971,-0.4425,0.3529,0.1324,-0.4455,0.4951,-0.4309,0.3813,-0.3965,0.4631,-0.4974,0.3447,0.0835,-0.4839,0.2207,0.4525,-0.1002,-0.4837,-0.4018,-0.1286,0.0959,0.2067,0.2127,0.1152,-0.0965],[-0.4976,-0.4893,-0.4295,-0.2323,0.1414,0.4785,0.3045,-0.3499,-1.97,0.4571,-0.0509,-0.3333,0.4869,-0.4935,0.4724,-0.4798,0.4999,-0.4454,0.1904,0.2561,-0.4967,0.0435,0.4988,0.0837,-0.4053,-0.4822,-0.2946,-0.088,0.0281,0.0347,-0.0685,-0.2674],[-0.4463,-0.4189,-0.3078,-0.0565,0.3053,0.4986,0.1405,-0.4554,-0.1697,0.4994,-0.2274,-0.1759,0.4128,-0.4892,0.4997,-0.4982,0.4691,-0.3331,0.0104,0.394,-0.4423,-0.1396,0.4776,0.2563,-0.2719,-0.4974,-0.4208,-0.2601,-0.1543,-0.8884,-0.243,-0.4021],[-0.3346,-0.2918,-0.1445,0.127,0.4278,0.4511,-0.0426,-0.4992,0.0118,0.4742,-0.373,0.0052,0.2828,-0.4188,0.4593,-0.4492,0.3748,-0.1757,-0.1711,0.4787,-0.328,-0.3038,0.3917,0.3942,-0.1018,-0.4452,-0.49,-0.3969,-0.3159,-0.3107,-0.3846,-0.4823]]> : tensor<16x32xf32>
func.func @f(%x: tensor<3x32xf32>) -> tensor<3x16xf32> {
  %w = hfq.load @model.layers.0.mlp.up_proj.weight : tensor<16x32xf32>
  %y = hfq.linear %x, %w : tensor<3x32xf32>, tensor<16x32xf32> -> tensor<3x16xf32>
  return %y : tensor<3x16xf32>
}
