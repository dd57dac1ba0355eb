# hfq_add_library(name SOURCES ... [DEPENDS ...] [MLIR_LIBS ...] [LINK_LIBS ...])
#
# A static, position-independent library in the HFQTargets export set.
# MLIR_LIBS go through mlir_target_link_libraries, so with
# MLIR_LINK_MLIR_DYLIB=ON they resolve to libMLIR.so instead of static
# archives (which would duplicate symbols already in libMLIR.so). AddMLIR's
# own add_mlir_library is not used because it exports into MLIR's target set.
function(hfq_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPENDS;MLIR_LIBS;LINK_LIBS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  set_target_properties(${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  target_include_directories(${name} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
    ${MLIR_INCLUDE_DIRS} ${LLVM_INCLUDE_DIRS})
  if(ARG_DEPENDS)
    add_dependencies(${name} ${ARG_DEPENDS})
  endif()
  if(ARG_MLIR_LIBS)
    mlir_target_link_libraries(${name} PUBLIC ${ARG_MLIR_LIBS})
  endif()
  target_link_libraries(${name} PUBLIC ${ARG_LINK_LIBS})
  install(TARGETS ${name} EXPORT HFQTargets)
endfunction()
