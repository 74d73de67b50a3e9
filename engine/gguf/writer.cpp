// The GGUF writer: owned metadata and tensors, serialised in one pass, written atomically.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>

#include "expertscope/error.h"
#include "expertscope/gguf.h"
#include "format.h"

namespace es::gguf {
namespace {

class Sink {
 public:
  explicit Sink(std::vector<uint8_t>& out) : out_(out) {}
  template <typename T>
  void put(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    out_.insert(out_.end(), p, p + sizeof v);
  }
  void bytes(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    out_.insert(out_.end(), b, b + n);
  }
  void string(std::string_view s) {
    put<uint64_t>(s.size());
    bytes(s.data(), s.size());
  }
  void pad_to(uint64_t alignment) { out_.resize(format::align_up(out_.size(), alignment), 0); }

 private:
  std::vector<uint8_t>& out_;
};

void put_array_body(Sink& s, const Array& a);

void put_payload(Sink& s, const Value& v) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          throw Error(ErrorKind::usage, "gguf::Writer: empty value");
        } else if constexpr (std::is_same_v<T, std::string>) {
          s.string(x);
        } else if constexpr (std::is_same_v<T, Array>) {
          put_array_body(s, x);
        } else if constexpr (std::is_same_v<T, bool>) {
          s.put<uint8_t>(x ? 1 : 0);
        } else {
          s.put<T>(x);
        }
      },
      v.data);
}

void put_array_body(Sink& s, const Array& a) {
  s.put<uint32_t>(static_cast<uint32_t>(a.elem_type));
  s.put<uint64_t>(a.items.size());
  for (const Value& item : a.items) {
    if (item.type() != a.elem_type) {
      throw Error(ErrorKind::usage, "gguf::Writer: array of " +
                                        std::string(value_type_name(a.elem_type)) + " holds a " +
                                        std::string(value_type_name(item.type())));
    }
    put_payload(s, item);
  }
}

}  // namespace

Writer::Writer(uint32_t version) : version_(version) {
  if (version != 2 && version != 3) {
    throw Error(ErrorKind::usage, "gguf::Writer: version must be 2 or 3");
  }
}

void Writer::set(std::string key, Value value) {
  if (key.empty()) throw Error(ErrorKind::usage, "gguf::Writer: empty metadata key");
  for (auto& kv : kv_) {
    if (kv.first == key) {
      kv.second = std::move(value);
      return;
    }
  }
  kv_.emplace_back(std::move(key), std::move(value));
}

uint64_t Writer::check_tensor(const std::string& name, TensorType type,
                              const std::vector<int64_t>& shape) const {
  const auto fail = [&](const std::string& what) {
    throw Error(ErrorKind::usage, "gguf::Writer: tensor " + name + ": " + what);
  };
  if (name.empty() || name.size() > format::max_tensor_name_bytes) fail("bad name length");
  if (shape.empty() || shape.size() > max_dims) fail("needs 1 to 4 dimensions");
  for (const auto& t : tensors_) {
    if (t.name == name) fail("added twice");
  }
  const auto& traits = tensor_type_traits(type);
  uint64_t n = 1;
  for (const int64_t d : shape) {
    if (d < 0) fail("negative dimension");
    n *= static_cast<uint64_t>(d);
  }
  if (shape[0] % traits.block_elems != 0) fail("row length is not a whole number of blocks");
  return n / traits.block_elems * traits.block_bytes;
}

void Writer::add_tensor(std::string name, TensorType type, std::vector<int64_t> shape,
                        std::vector<uint8_t> data) {
  const uint64_t n_bytes = check_tensor(name, type, shape);
  if (n_bytes != data.size()) {
    throw Error(ErrorKind::usage, "gguf::Writer: tensor " + name + ": data has " +
                                      std::to_string(data.size()) + " bytes, the shape needs " +
                                      std::to_string(n_bytes));
  }
  tensors_.push_back(Tensor{std::move(name), type, std::move(shape), std::move(data), n_bytes, {}});
}

void Writer::add_tensor_streamed(std::string name, TensorType type, std::vector<int64_t> shape,
                                 FillFn fill) {
  const uint64_t n_bytes = check_tensor(name, type, shape);
  tensors_.push_back(Tensor{std::move(name), type, std::move(shape), {}, n_bytes, std::move(fill)});
}

void Writer::add_tensor_f32(std::string name, std::vector<int64_t> shape,
                            std::span<const float> data) {
  std::vector<uint8_t> bytes(data.size_bytes());
  // An empty tensor (a dimension of 0) may come with null pointers, which memcpy must not get.
  if (!bytes.empty()) std::memcpy(bytes.data(), data.data(), bytes.size());
  add_tensor(std::move(name), TensorType::F32, std::move(shape), std::move(bytes));
}

std::vector<uint8_t> Writer::header_bytes(uint64_t& alignment) const {
  alignment = default_alignment;
  for (const auto& [key, value] : kv_) {
    if (key != "general.alignment") continue;
    const auto* a = std::get_if<uint32_t>(&value.data);
    if (a == nullptr || *a == 0 || (*a & (*a - 1)) != 0) {
      throw Error(ErrorKind::usage, "gguf::Writer: general.alignment must be a u32 power of two");
    }
    alignment = *a;
  }
  std::vector<uint8_t> out;
  Sink s(out);
  s.bytes(format::magic, 4);
  s.put<uint32_t>(version_);
  s.put<uint64_t>(tensors_.size());
  s.put<uint64_t>(kv_.size());
  for (const auto& [key, value] : kv_) {
    s.string(key);
    s.put<uint32_t>(static_cast<uint32_t>(value.type()));
    put_payload(s, value);
  }
  uint64_t offset = 0;
  for (const auto& t : tensors_) {
    s.string(t.name);
    s.put<uint32_t>(static_cast<uint32_t>(t.shape.size()));
    for (const int64_t d : t.shape) s.put<int64_t>(d);
    s.put<uint32_t>(static_cast<uint32_t>(t.type));
    s.put<uint64_t>(offset);
    offset = format::align_up(offset + t.n_bytes, alignment);
  }
  s.pad_to(alignment);
  return out;
}

std::vector<uint8_t> Writer::to_bytes() const {
  uint64_t alignment = 0;
  std::vector<uint8_t> out = header_bytes(alignment);
  for (const auto& t : tensors_) {
    const size_t at = out.size();
    if (t.fill) {
      out.resize(at + t.n_bytes);
      t.fill(std::span(out.data() + at, t.n_bytes));
    } else {
      out.insert(out.end(), t.data.begin(), t.data.end());
    }
    out.resize(format::align_up(out.size(), alignment), 0);
  }
  return out;
}

void Writer::write(const std::filesystem::path& path) const {
  std::filesystem::path tmp = path;
  tmp += ".tmp-" + std::to_string(::getpid());
  const auto fail = [&](const std::string& what) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    throw Error(ErrorKind::io, path.string() + ": " + what);
  };
  try {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    uint64_t alignment = 0;
    const std::vector<uint8_t> header = header_bytes(alignment);
    out.write(reinterpret_cast<const char*>(header.data()),
              static_cast<std::streamsize>(header.size()));
    std::vector<uint8_t> buffer;
    const std::vector<char> padding(alignment, 0);
    for (const auto& t : tensors_) {
      const uint8_t* data = t.data.data();
      if (t.fill) {
        buffer.resize(t.n_bytes);
        t.fill(std::span(buffer.data(), buffer.size()));
        data = buffer.data();
      }
      out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(t.n_bytes));
      const uint64_t pad = format::align_up(t.n_bytes, alignment) - t.n_bytes;
      out.write(padding.data(), static_cast<std::streamsize>(pad));
      if (!out) fail("cannot write");
    }
    out.flush();
    if (!out) fail("cannot write");
  } catch (...) {
    // A fill callback that throws (a converter finding bad data) leaves no partial file.
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    throw;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) fail("cannot rename the written file into place");
}

}  // namespace es::gguf
