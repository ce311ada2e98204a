//===- PlanFitting.h - one plan for a range of shapes -----------*- C++ -*-===//
//
// A dynamic engine runs any input shape inside its build profile's ranges
// with one program. azc gets it without symbolic shape inference: it lowers
// the model at the corners of a small grid of sizes (each symbol at two
// adjacent sizes near its max, no size shared with another symbol, so that
// no two dims are equal by accident and merged), requires the 2^k plans to
// be the same program, and fits
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

/// Sets each symbol's gridLow: the largest low with low + 1 <= max whose
/// two sizes no other symbol samples (when the ranges allow).
void chooseGrid(std::vector<Symbol> &symbols);

/// Grid point `corner` (0 <= corner < 2^k): symbol i at gridLow + 1 when bit
/// i is set, else at gridLow.
std::vector<int64_t> gridPoint(const std::vector<Symbol> &symbols,
                               unsigned corner);

/// A point away from the grid where the fit is checked: each symbol well
/// inside its range, at a size no other symbol takes there or on the grid.
/// None when every range holds only the grid's two sizes.
std::optional<std::vector<int64_t>>
checkPoint(const std::vector<Symbol> &symbols);

/// Builds `fitted` from `grid`, the plans lowered at the 2^k grid points (in
/// corner order): the top corner's plan with polynomials for everything
/// that varies, and every shape and size set to its largest over the
/// ranges, the capacity reserved. False with `error` naming the value or
/// step that differs in a way a polynomial cannot express.
bool fitPlans(const std::vector<Plan> &grid, const std::vector<Symbol> &symbols,
              Plan &fitted, std::string &error);

/// Checks that `fitted` predicts `sample`, the plan lowered at `point`, and
/// that no value there needs more bytes than `fitted` reserves.
bool checkFit(const Plan &fitted, const Plan &sample,
              const std::vector<int64_t> &point, std::string &error);

/// Corner `corner` (0 <= corner < 2^k) of the ranges' box: symbol i at its
/// max when bit i is set, else at its min. A multilinear polynomial takes
/// its extremes at these.
std::vector<int64_t> boxCorner(const std::vector<Symbol> &symbols,
                               unsigned corner);

/// "batch=3, sequence=17"
std::string formatPoint(const std::vector<Symbol> &symbols,
                        const std::vector<int64_t> &point);

} // namespace azc::plan

#endif // AZC_COMPILER_PLANFITTING_H
