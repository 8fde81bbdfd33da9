#include "im2col.hpp"

#include <cstdint>
#include <cstring>
#include <vector>

namespace hwnn {

template <typename T>
void im2col_reference(const T *in, const Im2colShape &s, std::size_t cols, T *out) {
  const std::size_t ho = s.out_h(), wo = s.out_w();
  for (std::size_t b = 0; b < s.n; ++b)
    for (std::size_t y = 0; y < ho; ++y)
      for (std::size_t x = 0; x < wo; ++x) {
        T *row = out + ((b * ho + y) * wo + x) * cols;
        for (std::size_t q = 0; q < cols; ++q) row[q] = T(0);
        for (std::size_t c = 0; c < s.c; ++c)
          for (std::size_t i = 0; i < s.kh; ++i)
            for (std::size_t j = 0; j < s.kw; ++j) {
              const long yy = long(y * s.stride + i) - long(s.pad);
              const long xx = long(x * s.stride + j) - long(s.pad);
              if (yy >= 0 && xx >= 0 && yy < long(s.h) && xx < long(s.w))
                row[(c * s.kh + i) * s.kw + j] = in[((b * s.c + c) * s.h + yy) * s.w + xx];
            }
      }
}

// The image is first copied into a zero-bordered buffer when pad > 0, so every window lies
// inside it: each row is then C kh copies of kw contiguous values, with kw a compile-time
// constant for the usual kernel widths (a memcpy call per 5 bytes, and a bounds test per
// value on the border, had made LeNet-5's first layer take 7 ms at batch 256).
template <int KW, typename T>
static void patches_inside(const T *src, std::size_t hp, std::size_t wp, const Im2colShape &s,
                           std::size_t kw, std::size_t cols, T *out) {
  // Locals, not s's fields: one-byte stores may alias anything, so the compiler would
  // reload every field after every store.
  const std::size_t ho = s.out_h(), wo = s.out_w(), patch = s.patch();
  const std::size_t channels = s.c, kh = s.kh, stride = s.stride;
  for (std::size_t y = 0; y < ho; ++y)
    for (std::size_t x = 0; x < wo; ++x) {
      T *dst = out + (y * wo + x) * cols;
      T *const row_end = dst + cols;
      for (std::size_t c = 0; c < channels; ++c) {
        const T *from = src + (c * hp + y * stride) * wp + x * stride;
        for (std::size_t i = 0; i < kh; ++i, from += wp, dst += kw) {
          if constexpr (KW > 0 && KW < 8 && sizeof(T) == 1) {
            // One 8-byte move: its extra bytes land where the next copy (or the zero tail
            // below) writes; reads stay in the source's 8 bytes of slack.
            if (dst + 8 <= row_end) std::memcpy(dst, from, 8);
            else std::memcpy(dst, from, KW);
          } else if constexpr (KW > 0) {
            std::memcpy(dst, from, KW * sizeof(T));  // constant size: a few wide moves
          } else {
            for (std::size_t j = 0; j < kw; ++j) dst[j] = from[j];
          }
        }
      }
      for (T *q = row_end - (cols - patch); q != row_end; ++q) *q = T(0);
    }
}

template <typename T>
void im2col(const T *in, const Im2colShape &s, std::size_t cols, T *out) {
  const std::size_t hp = s.h + 2 * s.pad, wp = s.w + 2 * s.pad;
  const std::size_t rows_per_image = s.out_h() * s.out_w();
  // One-byte images are always copied (8 bytes of slack past the end for the 8-byte moves
  // above); float images only when padded.
  const bool copy = s.pad || sizeof(T) == 1;
  thread_local std::vector<T> padded;
  if (copy) padded.assign(s.c * hp * wp + 8, T(0));
  for (std::size_t b = 0; b < s.n; ++b) {
    const T *img = in + b * s.c * s.h * s.w;
    if (copy) {  // borders stay zero from the assign: only the interior changes per image
      for (std::size_t c = 0; c < s.c; ++c)
        for (std::size_t y = 0; y < s.h; ++y)
          std::memcpy(&padded[(c * hp + y + s.pad) * wp + s.pad], img + (c * s.h + y) * s.w,
                      s.w * sizeof(T));
      img = padded.data();
    }
    T *o = out + b * rows_per_image * cols;
    switch (s.kw) {
      case 1: patches_inside<1>(img, hp, wp, s, s.kw, cols, o); break;
      case 2: patches_inside<2>(img, hp, wp, s, s.kw, cols, o); break;
      case 3: patches_inside<3>(img, hp, wp, s, s.kw, cols, o); break;
      case 5: patches_inside<5>(img, hp, wp, s, s.kw, cols, o); break;
      case 7: patches_inside<7>(img, hp, wp, s, s.kw, cols, o); break;
      default: patches_inside<0>(img, hp, wp, s, s.kw, cols, o); break;
    }
  }
}

template void im2col<std::uint8_t>(const std::uint8_t *, const Im2colShape &, std::size_t,
                                   std::uint8_t *);
template void im2col<float>(const float *, const Im2colShape &, std::size_t, float *);
template void im2col_reference<std::uint8_t>(const std::uint8_t *, const Im2colShape &,
                                             std::size_t, std::uint8_t *);
template void im2col_reference<float>(const float *, const Im2colShape &, std::size_t, float *);

}  // namespace hwnn
