import MoDETensor

/// Bit-exact conversions between Float32 and the 16-bit formats IEEE binary16 (F16) and
/// bfloat16 (BF16), matching PyTorch: Float32 → 16 bit rounds to nearest, ties to even;
/// overflow goes to ±infinity; NaN becomes a quiet NaN (F16: sign | 0x7E00; BF16: 0x7FC0, as
/// PyTorch's scalar conversion — its vectorised tensor path writes 0xFFFF instead).
/// 16 bit → Float32 is exact (subnormals included; NaN payloads are kept).
public enum HalfFloat {
    /// The Float32 equal to the F16 bit pattern `h` (exact).
    @inline(__always)
    public static func f16ToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exponent = UInt32(h >> 10) & 0x1F
        let mantissa = UInt32(h & 0x3FF)
        if exponent == 0x1F {  // infinity or NaN: widen the payload
            return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
        }
        if exponent == 0 {  // zero or subnormal: mantissa · 2^-24, exact in Float32
            let magnitude = Float(mantissa) * 0x1p-24
            return Float(bitPattern: sign | magnitude.bitPattern)
        }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }

    /// The F16 bit pattern nearest to `x` (ties to even).
    @inline(__always)
    public static func floatToF16(_ x: Float) -> UInt16 {
        let bits = x.bitPattern
        let sign = UInt16(truncatingIfNeeded: (bits >> 16) & 0x8000)
        let magnitude = bits & 0x7FFF_FFFF
        if magnitude > 0x7F80_0000 { return sign | 0x7E00 }           // NaN
        if magnitude >= 0x477F_F000 { return sign | 0x7C00 }          // ≥ 65520 rounds to infinity
        if magnitude < 0x3880_0000 {                                  // below 2^-14: subnormal or zero
            if magnitude <= 0x3300_0000 { return sign }               // ≤ 2^-25 rounds to zero
            let exponent = magnitude >> 23                            // 102...112
            let significand = (magnitude & 0x7F_FFFF) | 0x80_0000
            // value = significand · 2^(exponent-150); in units of 2^-24 that is significand >> (126-exponent)
            return sign | UInt16(truncatingIfNeeded: shiftRightRoundingToEven(significand, by: 126 - exponent))
        }
        // Normal: re-bias the exponent (127 → 15) and round away the low 13 mantissa bits. A carry
        // out of the mantissa correctly bumps the exponent.
        let rebased = magnitude - 0x3800_0000
        return sign | UInt16(truncatingIfNeeded: shiftRightRoundingToEven(rebased, by: 13))
    }

    /// The Float32 equal to the BF16 bit pattern `b` (exact).
    @inline(__always)
    public static func bf16ToFloat(_ b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }

    /// The BF16 bit pattern nearest to `x` (ties to even); NaN → 0x7FC0 as in PyTorch.
    @inline(__always)
    public static func floatToBF16(_ x: Float) -> UInt16 {
        if x.isNaN { return 0x7FC0 }
        let bits = x.bitPattern
        let rounded = bits &+ (0x7FFF + ((bits >> 16) & 1))  // overflow to infinity is correct
        return UInt16(truncatingIfNeeded: rounded >> 16)
    }

    /// `v >> s` rounded to nearest, ties to even (1 ≤ s ≤ 31, no overflow for v < 2^31).
    @inline(__always)
    static func shiftRightRoundingToEven(_ v: UInt32, by s: UInt32) -> UInt32 {
        let half = (UInt32(1) << (s - 1)) - 1
        return (v + half + ((v >> s) & 1)) >> s
    }

    /// out[i] = Float32 of F16 `src[i]`, for i < count (parallel for large counts).
    public static func f16ToFloat(_ out: UnsafeMutablePointer<Float>, _ src: UnsafeRawPointer, count: Int) {
        Parallel.forEach(count, grain: 1 << 16) { range in
            for i in range { out[i] = f16ToFloat(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        }
    }

    /// out[i] = Float32 of BF16 `src[i]`, for i < count (parallel for large counts).
    public static func bf16ToFloat(_ out: UnsafeMutablePointer<Float>, _ src: UnsafeRawPointer, count: Int) {
        Parallel.forEach(count, grain: 1 << 16) { range in
            for i in range { out[i] = bf16ToFloat(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        }
    }

    /// out[i] = F16 bits of `src[i]`, little-endian, for i < count (parallel for large counts).
    public static func floatToF16(_ out: UnsafeMutableRawPointer, _ src: UnsafePointer<Float>, count: Int) {
        Parallel.forEach(count, grain: 1 << 16) { range in
            for i in range { out.storeBytes(of: floatToF16(src[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
        }
    }

    /// out[i] = BF16 bits of `src[i]`, little-endian, for i < count (parallel for large counts).
    public static func floatToBF16(_ out: UnsafeMutableRawPointer, _ src: UnsafePointer<Float>, count: Int) {
        Parallel.forEach(count, grain: 1 << 16) { range in
            for i in range { out.storeBytes(of: floatToBF16(src[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
        }
    }
}
