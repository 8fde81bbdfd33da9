#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>

#include <cstring>
#include <optional>
#include <stdexcept>

#include "array_util.hpp"
#include "bindings.hpp"
#include "plan_runner.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace hwnn {

using FloatArray = nb::ndarray<const float, nb::c_contig, nb::device::cpu>;

static void same_length(std::size_t a, std::size_t b, const char *what) {
  if (a != b) throw std::invalid_argument(std::string(what) + ": arrays differ in length");
}

void bind_plan_runner(nb::module_ &m) {
  nb::class_<PlanRunner>(m, "PlanRunner", "Fused integer layers of a deployed network (C++).")
      .def(nb::init<>())
      .def("quantize_fixed", &PlanRunner::quantize_fixed, "bits"_a, "frac"_a)
      .def("quantize_int8", &PlanRunner::quantize_int8, "scale"_a, "is_signed"_a)
      .def("int_linear",
           [](PlanRunner &p, CMatrix<std::int8_t> w) { p.int_linear(w.data(), w.shape(0), w.shape(1)); },
           "w"_a)
      .def("sign_linear",
           [](PlanRunner &p, CMatrix<std::uint64_t> w, std::size_t k) {
             p.sign_linear(w.data(), w.shape(0), w.shape(1), k);
           },
           "w"_a, "k"_a)
      .def("threshold",
           [](PlanRunner &p, CVector<std::int32_t> t, CVector<std::uint8_t> f) {
             same_length(t.shape(0), f.shape(0), "threshold");
             p.threshold(t.data(), f.data(), t.shape(0));
           },
           "t"_a, "flip"_a)
      .def("dequantize",
           [](PlanRunner &p, CVector<float> s, std::optional<CVector<float>> b) {
             if (b) same_length(s.shape(0), b->shape(0), "dequantize");
             p.dequantize(s.data(), b ? b->data() : nullptr, s.shape(0));
           },
           "scale"_a, "bias"_a.none())
      .def("batch_norm",
           [](PlanRunner &p, CVector<float> a, CVector<float> b) {
             same_length(a.shape(0), b.shape(0), "batch_norm");
             p.batch_norm(a.data(), b.data(), a.shape(0));
           },
           "a"_a, "b"_a)
      .def("relu", &PlanRunner::relu)
      .def("hardtanh", &PlanRunner::hardtanh, "low"_a, "high"_a)
      .def("__len__", &PlanRunner::size)
      .def("int_conv",
           [](PlanRunner &p, CMatrix<std::int8_t> w, std::size_t c, std::size_t kh,
              std::size_t kw, std::size_t stride, std::size_t pad) {
             if (c * kh * kw != w.shape(1))
               throw std::invalid_argument("int_conv: weights must be [out, c * kh * kw]");
             p.int_conv(w.data(), w.shape(0), c, kh, kw, stride, pad);
           },
           "w"_a, "c"_a, "kh"_a, "kw"_a, "stride"_a, "pad"_a)
      .def("sign_conv",
           [](PlanRunner &p, CTensor4<std::uint64_t> w, std::size_t c, std::size_t stride,
              std::size_t pad) {
             if (w.shape(3) != (c + 63) / 64)
               throw std::invalid_argument("sign_conv: weights need ceil(c / 64) channel words");
             p.sign_conv(w.data(), w.shape(0), c, w.shape(1), w.shape(2), stride, pad);
           },
           "w"_a, "c"_a, "stride"_a, "pad"_a)
      .def("max_pool", &PlanRunner::max_pool, "k"_a)
      .def("flatten", &PlanRunner::flatten)
      .def("run", [](const PlanRunner &p, FloatArray x, bool images) {
        // NCHW images [rows, c, h, w] when `images`, else rows of everything after the first
        // dimension (the flatten a plan without image steps starts with)
        if (x.ndim() < 2 || (images && x.ndim() != 2 && x.ndim() != 4))
          throw std::invalid_argument(
              std::string(images ? "run: x must be [rows, cols] or NCHW [rows, c, h, w]"
                                 : "run: x must be a batch [rows, ...]") +
              "; give one input a leading batch dimension of 1");
        PlanRunner::Shape in;
        in.cols = 1;
        for (std::size_t d = 1; d < x.ndim(); ++d) in.cols *= x.shape(d);
        if (images && x.ndim() == 4) in = {in.cols, x.shape(1), x.shape(2), x.shape(3)};
        PlanRunner::Shape out;
        const float *y;
        {
          nb::gil_scoped_release release;
          y = p.run(x.data(), x.shape(0), in, &out);
        }
        auto arr = out.h ? new_array<float>({x.shape(0), out.c, out.h, out.w})
                         : new_array<float>({x.shape(0), out.cols});
        if (arr.size() != 0) std::memcpy(arr.data(), y, arr.size() * sizeof(float));
        return arr;
      }, "x"_a, "images"_a = true);
}

}  // namespace hwnn
