# Matrix products and the embedding gather per weight type (vk_matmul.cpp), included from
# CMakeLists.txt. Per type: mul_mat_T and mul_mat_id_T (one token row per invocation),
# their _t4 tiles (4 token rows per invocation: prefill), each also as _sg (activations
# shared through subgroup broadcasts: devices with subgroups of 8 or more, lavapipe) and,
# for Q4_0, Q8_0 and Q4_K, as _sg_a (16-byte aligned rows read as uvec4); and get_rows_T.
foreach(type F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K Q4_K Q5_K Q6_K)
  string(TOLOWER "${type}" t)
  foreach(op mul_mat mul_mat_id)
    set(defs TYPE_${type})
    if(op STREQUAL "mul_mat_id")
      list(APPEND defs MUL_MAT_ID)
    endif()
    es_shader(${op}_${t} matmul.comp ${defs})
    es_shader(${op}_${t}_t4 matmul.comp ${defs} TILE=4)
    es_shader(${op}_${t}_sg matmul.comp ${defs} SUBGROUP8)
    es_shader(${op}_${t}_sg_t4 matmul.comp ${defs} SUBGROUP8 TILE=4)
    if(type MATCHES "^(Q4_0|Q8_0|Q4_K)$")
      es_shader(${op}_${t}_sg_a matmul.comp ${defs} SUBGROUP8 ALIGNED)
      es_shader(${op}_${t}_sg_a_t4 matmul.comp ${defs} SUBGROUP8 ALIGNED TILE=4)
    endif()
  endforeach()
  es_shader(get_rows_${t} get_rows.comp TYPE_${type})
endforeach()
