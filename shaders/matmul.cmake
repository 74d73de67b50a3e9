# Matrix products and the embedding gather per weight type (vk_matmul.cpp), included from
# CMakeLists.txt. Per type: mul_mat_T and mul_mat_id_T (matmul.comp: one output row per
# invocation), their _lanes variants (mm_lanes.comp: CPU-backed devices with subgroups of
# 8; ROWS must match kLaneRows in vk_matmul.cpp), each also as _t4 (4 token rows per
# invocation: prefill); and get_rows_T.
foreach(type F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K Q4_K Q5_K Q6_K)
  string(TOLOWER "${type}" t)
  foreach(op mul_mat mul_mat_id)
    set(defs TYPE_${type})
    if(op STREQUAL "mul_mat_id")
      list(APPEND defs MUL_MAT_ID)
    endif()
    es_shader(${op}_${t} matmul.comp ${defs})
    es_shader(${op}_${t}_t4 matmul.comp ${defs} TILE=4)
    es_shader(${op}_${t}_lanes mm_lanes.comp ${defs} ROWS=16)
    es_shader(${op}_${t}_lanes_t4 mm_lanes.comp ${defs} ROWS=16 TILE=4)
  endforeach()
  es_shader(get_rows_${t} get_rows.comp TYPE_${type})
endforeach()
