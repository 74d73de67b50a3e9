# RoPE, the KV cache writes and attention (engine/backend/vulkan/vk_attention.cpp);
# included by CMakeLists.txt beside it.
es_shader(rope rope.comp)
es_shader(kv_store_f16 kv_store.comp F16)
es_shader(kv_store_f32 kv_store.comp)
es_shader(attention_f16 attention.comp F16)
es_shader(attention_f32 attention.comp)
