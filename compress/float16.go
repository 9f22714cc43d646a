package compress

import "github.com/wavenet-go/wavenet/internal/safetensors"

// The conversions live in internal/safetensors, which stores F16 and BF16
// checkpoints with them; these names make them part of compress's API.

// Float16 converts f to IEEE 754 binary16 bits, rounding to nearest with
// ties to even (IEEE 754-2019 section 4.3.1); values at or beyond the
// midpoint 65520 between the largest finite half (65504) and 65536 round
// to infinity, results below 2^-14 are subnormal, values at or below 2^-25
// round to (signed) zero, and NaN stays NaN (quiet, sign kept).
func Float16(f float32) uint16 { return safetensors.Float32ToF16(f) }

// Float16To32 converts binary16 bits to float32 exactly.
func Float16To32(h uint16) float32 { return safetensors.F16ToFloat32(h) }

// BFloat16 converts f to bfloat16 bits (the upper half of a float32),
// rounding to nearest with ties to even; NaN stays a quiet NaN.
func BFloat16(f float32) uint16 { return safetensors.Float32ToBF16(f) }

// BFloat16To32 converts bfloat16 bits to float32 exactly.
func BFloat16To32(h uint16) float32 { return safetensors.BF16ToFloat32(h) }
