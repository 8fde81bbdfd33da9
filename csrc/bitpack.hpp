// Sign bit packing and the binary dot product (DESIGN.md bit-order contract).
//
// Element i of a row goes to bit (i mod 64) of 64-bit word (i div 64). A set bit
// means -1 (x < 0); zero and positive values are +1. Padding bits past K are 0 in
// both operands, so they never contribute to popcount(a XOR b), and
//     dot(a, b) = K - 2 * popcount(a XOR b)
// holds with the true K.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hwnn {

inline std::size_t words_for(std::size_t k) { return (k + 63) / 64; }

// Packs rows x k floats (row-major, contiguous) into rows x words_for(k) words.
void pack_signs_reference(const float *x, std::size_t rows, std::size_t k, std::uint64_t *out);
void pack_signs(const float *x, std::size_t rows, std::size_t k, std::uint64_t *out);

// Binary dot product of two packed rows of true length k.
std::int64_t binary_dot_reference(const std::uint64_t *a, const std::uint64_t *b, std::size_t k);
std::int64_t binary_dot(const std::uint64_t *a, const std::uint64_t *b, std::size_t k);

// Name of the path pack_signs / binary_dot take on this CPU ("avx2", "popcnt", "scalar").
const char *pack_signs_path();
const char *binary_dot_path();

}  // namespace hwnn
