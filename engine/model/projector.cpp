// The patch projector ("es-patch", projector.h): loading, checks, and encoding images and
// video frames into embedding rows. Small enough to run on the CPU in plain loops: a
// 224 × 224 image with 16 × 16 patches is 196 products of 768 values per output width;
// the demo model's convolutional stem on a 48 × 48 picture is about 5 M multiply-adds.
#include "expertscope/projector.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "expertscope/error.h"
#include "expertscope/quant.h"

namespace es {

namespace {

constexpr std::string_view kArch = "es-patch";

class PatchProjector final : public Projector {
 public:
  PatchProjector(gguf::File file, const Model& model);

  [[nodiscard]] uint32_t image_size() const noexcept override { return image_size_; }
  [[nodiscard]] uint32_t max_frames() const noexcept override { return max_frames_; }
  [[nodiscard]] uint32_t n_embd() const noexcept override { return n_embd_; }
  [[nodiscard]] const MediaTokens& tokens() const noexcept override { return tokens_; }
  [[nodiscard]] uint32_t image_tokens() const noexcept override { return grid_ * grid_; }
  [[nodiscard]] uint32_t frame_tokens() const noexcept override {
    const uint32_t g = grid_ / video_pool_;
    return g * g;
  }
  void encode_image(const RgbImage& image, std::vector<float>& out) const override;
  void encode_frame(const RgbImage& frame, uint32_t index, std::vector<float>& out) const override;

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ErrorKind::bad_input, file_.name() + ": " + what);
  }
  uint32_t u32(const char* key, bool required = true) const;
  /// The tensor `name` widened to f32, checked to have shape {ne0, ne1}.
  std::vector<float> tensor(const char* name, int64_t ne0, int64_t ne1, bool required = true) const;
  /// Patch embeddings (+ position) of `image` into rows [grid²][n_embd].
  void patches(const RgbImage& image, std::vector<float>& rows) const;
  /// The stem's feature map of `image`: [map_side_][map_side_][channels_], channels
  /// innermost (the image's values themselves without a stem).
  std::vector<float> features(const RgbImage& image) const;

  /// One 3 × 3 convolution of the stem (padding 1, GELU after).
  struct Conv {
    uint32_t in = 0, out = 0, stride = 1;
    std::vector<float> w, b;  ///< w[out][in][3][3] as torch stores it.
  };
  void finish(float* row) const;

  gguf::File file_;
  uint32_t n_embd_ = 0, image_size_ = 0, patch_size_ = 0, grid_ = 0, video_pool_ = 1;
  uint32_t max_frames_ = 0;
  float norm_eps_ = 1e-6f;
  MediaTokens tokens_;
  std::vector<float> w_, b_, pos_, temporal_, norm_;
  std::vector<Conv> stem_;
  uint32_t cell_ = 0;      ///< Side of a patch in cells of the last feature map.
  uint32_t channels_ = 3;  ///< Channels of the map the patch projection reads.
  uint32_t map_side_ = 0;  ///< Side of that map: image_size_ / the stem's strides.
};

uint32_t PatchProjector::u32(const char* key, bool required) const {
  const auto v = file_.get_uint(std::string(kArch) + "." + key);
  if (!v) {
    if (required) fail("missing " + std::string(kArch) + "." + key);
    return 0;
  }
  if (*v > UINT32_MAX) fail(std::string(kArch) + "." + key + " is out of range");
  return static_cast<uint32_t>(*v);
}

std::vector<float> PatchProjector::tensor(const char* name, int64_t ne0, int64_t ne1,
                                          bool required) const {
  const gguf::TensorInfo* t = file_.find_tensor(name);
  if (t == nullptr) {
    if (required) fail(std::string("missing tensor ") + name);
    return {};
  }
  if (t->ne[0] != ne0 || t->ne[1] != ne1 || t->ne[2] != 1 || t->ne[3] != 1) {
    fail(std::string("tensor ") + name + " has shape " + std::to_string(t->ne[0]) + " × " +
         std::to_string(t->ne[1]) + ", expected " + std::to_string(ne0) + " × " +
         std::to_string(ne1));
  }
  if (t->type != TensorType::F32 && t->type != TensorType::F16) {
    fail(std::string("tensor ") + name + " has type " + std::string(tensor_type_name(t->type)) +
         " (a projector's tensors are F32 or F16)");
  }
  std::vector<float> out(static_cast<size_t>(ne0 * ne1));
  quant::dequantize_row_ref(t->type, file_.tensor_data(*t).data(), out.data(), ne0 * ne1);
  return out;
}

PatchProjector::PatchProjector(gguf::File file, const Model& model) : file_(std::move(file)) {
  const auto arch = file_.get_string("general.architecture");
  if (!arch || *arch != kArch) {
    fail("not a projector this version knows (general.architecture is \"" +
         std::string(arch.value_or("")) + "\", expected \"es-patch\")");
  }
  n_embd_ = u32("n_embd");
  image_size_ = u32("image_size");
  patch_size_ = u32("patch_size");
  video_pool_ = std::max(1u, u32("video_pool", false));
  max_frames_ = u32("max_frames");
  if (n_embd_ != model.hparams().n_embd) {
    fail("made for a model of width " + std::to_string(n_embd_) + ", but " + model.file().name() +
         " has width " + std::to_string(model.hparams().n_embd));
  }
  if (patch_size_ == 0 || image_size_ == 0 || image_size_ % patch_size_ != 0 ||
      image_size_ > 4096) {
    fail("image_size " + std::to_string(image_size_) + " is not a multiple of patch_size " +
         std::to_string(patch_size_));
  }
  grid_ = image_size_ / patch_size_;
  if (grid_ % video_pool_ != 0) fail("video_pool does not divide the patch grid");
  if (max_frames_ == 0 || max_frames_ > 4096) fail("max_frames is out of range");
  const uint32_t n_vocab = model.hparams().n_vocab;
  const auto token = [&](const char* key) {
    const uint32_t id = u32(key);
    if (id >= n_vocab) {
      fail(std::string(kArch) + "." + key + " = " + std::to_string(id) +
           " is outside the model's vocabulary");
    }
    return static_cast<int32_t>(id);
  };
  tokens_.image_begin = token("image_begin_token");
  tokens_.image_end = token("image_end_token");
  tokens_.video_begin = token("video_begin_token");
  tokens_.video_end = token("video_end_token");
  tokens_.pad = token("media_pad_token");
  // The optional stem: conv.0, conv.1, ... while they exist.
  uint32_t scale = 1;
  for (uint32_t i = 0;; ++i) {
    const std::string name = "conv." + std::to_string(i);
    const gguf::TensorInfo* t = file_.find_tensor(name + ".weight");
    if (t == nullptr) break;
    if (i >= 16) fail("more than 16 convolutions in the stem");
    Conv c;
    c.in = channels_;
    if (t->ne[0] != int64_t{9} * c.in || t->ne[1] < 1 || t->ne[1] > 4096) {
      fail("tensor " + name + ".weight has shape " + std::to_string(t->ne[0]) + " × " +
           std::to_string(t->ne[1]) + ", expected 9 × " + std::to_string(c.in) +
           " (3 × 3 × input channels) × output channels");
    }
    c.out = static_cast<uint32_t>(t->ne[1]);
    c.stride = u32((name + ".stride").c_str());
    if (c.stride < 1 || c.stride > 4) fail(name + ".stride is not 1 to 4");
    c.w = tensor((name + ".weight").c_str(), int64_t{9} * c.in, c.out);
    c.b = tensor((name + ".bias").c_str(), c.out, 1);
    scale *= c.stride;
    if (image_size_ % scale != 0 || patch_size_ % scale != 0) {
      fail("the stem's strides (" + std::to_string(scale) + " in all) do not divide image_size " +
           std::to_string(image_size_) + " and patch_size " + std::to_string(patch_size_));
    }
    channels_ = c.out;
    stem_.push_back(std::move(c));
  }
  cell_ = patch_size_ / scale;
  map_side_ = image_size_ / scale;
  const int64_t in = int64_t{channels_} * cell_ * cell_;
  w_ = tensor("patch.weight", in, n_embd_);
  b_ = tensor("patch.bias", n_embd_, 1);
  pos_ = tensor("pos_embd.weight", n_embd_, int64_t{grid_} * grid_);
  temporal_ = tensor("temporal_embd.weight", n_embd_, max_frames_);
  norm_ = tensor("post_norm.weight", n_embd_, 1, false);
  if (const auto eps = file_.get_float(std::string(kArch) + ".norm_eps")) {
    norm_eps_ = static_cast<float>(*eps);
  }
}

void PatchProjector::patches(const RgbImage& image, std::vector<float>& rows) const {
  if (image.width != image_size_ || image.height != image_size_ ||
      image.rgb.size() != size_t{image.width} * image.height * 3) {
    throw Error(ErrorKind::usage, "projector: the image must be " + std::to_string(image_size_) +
                                      " × " + std::to_string(image_size_) + " RGB");
  }
  const std::vector<float> map = features(image);
  const uint32_t P = cell_, E = n_embd_, C = channels_, side = map_side_;
  const size_t in = size_t{C} * P * P;
  rows.assign(size_t{grid_} * grid_ * E, 0.0f);
  std::vector<float> v(in);
  for (uint32_t gy = 0; gy < grid_; ++gy) {
    for (uint32_t gx = 0; gx < grid_; ++gx) {
      for (uint32_t y = 0; y < P; ++y) {
        const float* src = map.data() + ((size_t{gy} * P + y) * side + size_t{gx} * P) * C;
        std::copy(src, src + size_t{C} * P, v.data() + size_t{y} * C * P);
      }
      const size_t patch = size_t{gy} * grid_ + gx;
      float* row = rows.data() + patch * E;
      for (uint32_t e = 0; e < E; ++e) {
        const float* w = w_.data() + size_t{e} * in;
        float s = 0.0f;
        for (size_t i = 0; i < in; ++i) s += w[i] * v[i];
        row[e] = s + b_[e] + pos_[patch * E + e];
      }
    }
  }
}

std::vector<float> PatchProjector::features(const RgbImage& image) const {
  uint32_t side = image_size_;
  std::vector<float> map(image.rgb.size());
  for (size_t i = 0; i < map.size(); ++i) map[i] = image.rgb[i] / 127.5f - 1.0f;
  std::vector<float> next;
  for (const Conv& c : stem_) {
    const uint32_t n = side / c.stride;
    next.assign(size_t{n} * n * c.out, 0.0f);
    for (uint32_t oy = 0; oy < n; ++oy) {
      for (uint32_t ox = 0; ox < n; ++ox) {
        float* dst = next.data() + (size_t{oy} * n + ox) * c.out;
        for (uint32_t o = 0; o < c.out; ++o) {
          const float* w = c.w.data() + size_t{o} * c.in * 9;
          float s = c.b[o];
          for (int ky = 0; ky < 3; ++ky) {
            const int64_t y = int64_t{oy} * c.stride + ky - 1;  // padding 1
            if (y < 0 || y >= side) continue;
            for (int kx = 0; kx < 3; ++kx) {
              const int64_t x = int64_t{ox} * c.stride + kx - 1;
              if (x < 0 || x >= side) continue;
              const float* src = map.data() + (size_t(y) * side + size_t(x)) * c.in;
              for (uint32_t i = 0; i < c.in; ++i) s += w[size_t{i} * 9 + ky * 3 + kx] * src[i];
            }
          }
          dst[o] = 0.5f * s * (1.0f + std::erf(s * 0.70710678118654752f));  // GELU (erf)
        }
      }
    }
    map.swap(next);
    side = n;
  }
  return map;
}

void PatchProjector::finish(float* row) const {
  if (norm_.empty()) return;
  double ss = 0;
  for (uint32_t e = 0; e < n_embd_; ++e) ss += double{row[e]} * row[e];
  const float inv = 1.0f / std::sqrt(static_cast<float>(ss / n_embd_) + norm_eps_);
  for (uint32_t e = 0; e < n_embd_; ++e) row[e] = row[e] * inv * norm_[e];
}

void PatchProjector::encode_image(const RgbImage& image, std::vector<float>& out) const {
  std::vector<float> rows;
  patches(image, rows);
  for (size_t r = 0; r < size_t{grid_} * grid_; ++r) finish(rows.data() + r * n_embd_);
  out.insert(out.end(), rows.begin(), rows.end());
}

void PatchProjector::encode_frame(const RgbImage& frame, uint32_t index,
                                  std::vector<float>& out) const {
  if (index >= max_frames_) {
    throw Error(ErrorKind::usage, "projector: frame " + std::to_string(index) +
                                      " beyond the projector's " + std::to_string(max_frames_));
  }
  std::vector<float> rows;
  patches(frame, rows);
  const uint32_t k = video_pool_, g = grid_ / k, E = n_embd_;
  const size_t base = out.size();
  out.resize(base + size_t{g} * g * E, 0.0f);
  for (uint32_t py = 0; py < g; ++py) {
    for (uint32_t px = 0; px < g; ++px) {
      float* dst = out.data() + base + (size_t{py} * g + px) * E;
      for (uint32_t dy = 0; dy < k; ++dy) {
        for (uint32_t dx = 0; dx < k; ++dx) {
          const float* src = rows.data() + (size_t{py * k + dy} * grid_ + px * k + dx) * E;
          for (uint32_t e = 0; e < E; ++e) dst[e] += src[e];
        }
      }
      for (uint32_t e = 0; e < E; ++e) {
        dst[e] = dst[e] / static_cast<float>(k * k) + temporal_[size_t{index} * E + e];
      }
      finish(dst);
    }
  }
}

}  // namespace

std::unique_ptr<Projector> Projector::load(const std::filesystem::path& path, const Model& model) {
  return std::make_unique<PatchProjector>(gguf::File::open(path), model);
}

std::filesystem::path Projector::find_beside(const std::filesystem::path& model_path) {
  const std::filesystem::path dir = model_path.parent_path();
  for (const std::filesystem::path& p : {dir / (model_path.stem().string() + ".mmproj.gguf"),
                                         dir / ("mmproj-" + model_path.filename().string())}) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(p, ec)) return p;
  }
  return {};
}

}  // namespace es
