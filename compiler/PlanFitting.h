//===- PlanFitting.h - one plan for a range of shapes -----------*- C++ -*-===//
//
// A dynamic engine runs any input shape inside its build profile's ranges
// with one program. azc gets it without symbolic shape inference: it lowers
// the model at the corners of a small grid of sizes (each symbol at its max
// and max - 1), requires the 2^k plans to be the same program, and fits
// every size that differs between them — dims, the elements of shape
// tensors, integer step attributes — with the multilinear polynomial in the
// symbols that takes those values. Exporters' shape arithmetic is products
// and sums of dims, which such polynomials represent exactly; anything else
// (a strided conv over a varying dim, a clamp) is caught by lowering the
// model once more at a point inside the ranges and checking every fitted
// size there, and is refused with the value and sizes that disagree.
//
//===----------------------------------------------------------------------===//

#ifndef AZC_COMPILER_PLANFITTING_H
#define AZC_COMPILER_PLANFITTING_H

#include "compiler/Plan.h"

#include <optional>

namespace azc::plan {

/// Grid point `corner` (0 <= corner < 2^k): symbol i at its max when bit i
/// is set, else at max - 1.
std::vector<int64_t> gridPoint(const std::vector<Symbol> &symbols,
                               unsigned corner);

/// A point away from the grid where the fit is checked: each symbol well
/// inside its range. None when every range holds only two sizes, as the grid
/// then covers them all.
std::optional<std::vector<int64_t>>
checkPoint(const std::vector<Symbol> &symbols);

/// Builds `fitted` from `grid`, the plans lowered at the 2^k grid points (in
/// corner order): the max corner's plan with polynomials for everything that
/// varies. False with `error` naming the value or step that differs in a
/// way a polynomial cannot express.
bool fitPlans(const std::vector<Plan> &grid, const std::vector<Symbol> &symbols,
              Plan &fitted, std::string &error);

/// Checks that `fitted` predicts `sample`, the plan lowered at `point`, and
/// that no value there needs more bytes than `fitted` reserves.
bool checkFit(const Plan &fitted, const Plan &sample,
              const std::vector<int64_t> &point, std::string &error);

/// "batch=3, sequence=17"
std::string formatPoint(const std::vector<Symbol> &symbols,
                        const std::vector<int64_t> &point);

} // namespace azc::plan

#endif // AZC_COMPILER_PLANFITTING_H
