//===- linear_attention.cc - attention through a carried dk x dv state ----===//
//
// ONNX LinearAttention (the recurrent form of linear, gated, DeltaNet and
// Gated DeltaNet layers): each key/value head's state is updated token by
// token and read by its query heads. The state lives in f32 scratch per
// (batch, kv head); those pairs are independent and run in parallel.
//
//===----------------------------------------------------------------------===//

#include "cpu/kernel_util.h"

namespace azr::cpu {
namespace {

azr_status_t linearAttentionKernel(const KernelContext &context) {
  AZR_RETURN_IF_ERROR(checkArity(context, "linear_attention", 3, 6, 2));
  const Tensor &query = context.input(0), &key = context.input(1),
               &value = context.input(2);
  const Tensor *past = context.optionalInput(3),
               *decay = context.optionalInput(4),
               *beta = context.optionalInput(5);
  const Tensor &out = context.output(0), &present = context.output(1);
  const int64_t qHeads = context.attrs->getInt("q_num_heads", 0);
  const int64_t kvHeads = context.attrs->getInt("kv_num_heads", 0);
  const float scale = float(context.attrs->getFloat("scale", 1.0));
  for (const Tensor *t :
       {&query, &key, &value, past, decay, beta, &out, &present})
    if (t && t->dtype != DType::f32)
      return unsupportedDtype("linear_attention", t->dtype);
  if (query.rank != 3 || key.rank != 3 || value.rank != 3 ||
      present.rank != 4 || qHeads <= 0 || kvHeads <= 0 || qHeads % kvHeads != 0)
    return AZR_INVALID("linear_attention: bad ranks or head counts");
  const int64_t batch = query.dims[0], length = query.dims[1];
  const int64_t dk = present.dims[2], dv = present.dims[3];
  const int64_t group = qHeads / kvHeads;
  auto rowsAre = [&](const Tensor &t, int64_t last) {
    return t.rank == 3 && t.dims[0] == batch && t.dims[1] == length &&
           t.dims[2] == last;
  };
  if (!rowsAre(query, qHeads * dk) || !rowsAre(key, kvHeads * dk) ||
      !rowsAre(value, kvHeads * dv) || !rowsAre(out, qHeads * dv) ||
      present.dims[0] != batch || present.dims[1] != kvHeads ||
      (past && past->numel() != present.numel()))
    return AZR_INVALID("linear_attention: query %s, key %s, value %s, state "
                       "%s do not agree",
                       shapeString(query).c_str(), shapeString(key).c_str(),
                       shapeString(value).c_str(),
                       shapeString(present).c_str());
  const bool perKeyDecay = decay && decay->dims[2] == kvHeads * dk;
  if (decay && !rowsAre(*decay, perKeyDecay ? kvHeads * dk : kvHeads))
    return AZR_INVALID("linear_attention: decay %s",
                       shapeString(*decay).c_str());
  const int64_t betaWidth = beta ? beta->dims[2] : 0;
  if (beta && !rowsAre(*beta, betaWidth == 1 ? 1 : kvHeads))
    return AZR_INVALID("linear_attention: beta %s", shapeString(*beta).c_str());

  const float *q = query.as<const float>(), *k = key.as<const float>(),
              *v = value.as<const float>();
  float *y = out.as<float>(), *states = present.as<float>();
  // The final state is written in place: present holds the running state.
  if (past)
    std::memmove(states, past->data, present.bytes());
  else
    std::fill(states, states + present.numel(), 0.0f);

  context.pool->parallelFor(
      batch * kvHeads, 1, [&](int64_t begin, int64_t end) {
        std::vector<float> corrected(static_cast<size_t>(dv));
        for (int64_t pair = begin; pair < end; ++pair) {
          const int64_t b = pair / kvHeads, h = pair % kvHeads;
          float *s = states + pair * dk * dv; // [dk][dv]
          for (int64_t t = 0; t < length; ++t) {
            const int64_t row = b * length + t;
            const float *kt = k + (row * kvHeads + h) * dk;
            const float *vt = v + (row * kvHeads + h) * dv;
            if (decay) {
              const float *g = decay->as<const float>() + row * decay->dims[2] +
                               (perKeyDecay ? h * dk : h);
              for (int64_t d = 0; d < dk; ++d) {
                const float factor = std::exp(g[perKeyDecay ? d : 0]);
                for (int64_t m = 0; m < dv; ++m)
                  s[d * dv + m] *= factor;
              }
            }
            const float *written = vt;
            if (beta) {
              // v - Sᵀk, the part of v the state does not already recall.
              const float bt =
                  beta->as<const float>()[row * betaWidth +
                                          (betaWidth == 1 ? 0 : h)];
              for (int64_t m = 0; m < dv; ++m)
                corrected[size_t(m)] = vt[m];
              for (int64_t d = 0; d < dk; ++d)
                for (int64_t m = 0; m < dv; ++m)
                  corrected[size_t(m)] -= s[d * dv + m] * kt[d];
              for (int64_t m = 0; m < dv; ++m)
                corrected[size_t(m)] *= bt;
              written = corrected.data();
            }
            for (int64_t d = 0; d < dk; ++d)
              for (int64_t m = 0; m < dv; ++m)
                s[d * dv + m] += kt[d] * written[m];
            for (int64_t j = 0; j < group; ++j) {
              const int64_t head = h * group + j;
              const float *qt = q + (row * qHeads + head) * dk;
              float *yt = y + (row * qHeads + head) * dv;
              for (int64_t m = 0; m < dv; ++m)
                yt[m] = 0.0f;
              for (int64_t d = 0; d < dk; ++d)
                for (int64_t m = 0; m < dv; ++m)
                  yt[m] += qt[d] * s[d * dv + m];
              for (int64_t m = 0; m < dv; ++m)
                yt[m] *= scale;
            }
          }
        }
      });
  return nullptr;
}

} // namespace

void addLinearAttentionKernels(KernelTable &table) {
  table.push_back({"linear_attention", guarded<linearAttentionKernel>});
}

} // namespace azr::cpu
