// What follows the popcount in a binarized or quantized layer (the deck's BNN pipeline):
//
//   scale_bias:      y[i][j] = c[i][j] * row_scale[i] * col_scale[j] + bias[j]   (float)
//                    XNOR-Net: row_scale = input scale K (per sample or pixel), col_scale =
//                    weight scale alpha (per output channel); int8: the two quantizer scales.
//   sign_threshold:  batch norm and scales folded into one integer threshold per channel
//                    (Umuroglu et al. 2017, "FINN"): sign(gamma (alpha c - mu)/sigma + beta)
//                    is -1 exactly when c < t_j (positive slope) or c > t_j (negative slope,
//                    flip_j = 1); the result is packed straight into the next layer's sign
//                    words (DESIGN.md bit order), so the float activation never exists.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hwnn {

// row_scale, col_scale, bias may be null (meaning 1, 1, 0).
void scale_bias_reference(const std::int32_t *c, std::size_t m, std::size_t n,
                          const float *row_scale, const float *col_scale, const float *bias,
                          float *out);
void scale_bias(const std::int32_t *c, std::size_t m, std::size_t n, const float *row_scale,
                const float *col_scale, const float *bias, float *out);

// out: [m, ceil(n / 64)] words; bit j of row i set (= -1) when flip[j] ? c > t[j] : c < t[j].
void sign_threshold_reference(const std::int32_t *c, std::size_t m, std::size_t n,
                              const std::int32_t *threshold, const std::uint8_t *flip,
                              std::uint64_t *out);
void sign_threshold(const std::int32_t *c, std::size_t m, std::size_t n,
                    const std::int32_t *threshold, const std::uint8_t *flip, std::uint64_t *out);
// The same with the flip flags also given as bits (pack_flip_bits), packed once per layer
// rather than once per call: what a deployed plan uses.
void pack_flip_bits(const std::uint8_t *flip, std::size_t n, std::uint64_t *bits);
void sign_threshold_bits(const std::int32_t *c, std::size_t m, std::size_t n,
                         const std::int32_t *threshold, const std::uint8_t *flip,
                         const std::uint64_t *flip_bits, std::uint64_t *out);

const char *output_transform_path();

}  // namespace hwnn
