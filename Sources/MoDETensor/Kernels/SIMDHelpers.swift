// The small SIMD pieces every numeric target's kernels share: unaligned loads and stores,
// horizontal reductions in a stated lane order, dot products with eight partial sums, and
// parallel chunking. `package` access: visible to the package's targets, not to users. Results
// depend on these exact orders of operations; change none of them without rerunning the fixtures.

// MARK: unaligned loads and stores

/// Loads 16 floats from `p` (any alignment).
@_transparent
package func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self) }

/// Stores 16 floats at `p` (any alignment).
@_transparent
package func store16(_ p: UnsafeMutablePointer<Float>, _ v: SIMD16<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
}

/// Loads `n` < 16 floats from `p`; the other lanes are `pad`.
@_transparent
package func loadPartial(_ p: UnsafePointer<Float>, _ n: Int, pad: Float = 0) -> SIMD16<Float> {
    // A byte copy into the vector's storage: setting lanes one by one compiles to slow code.
    var v = SIMD16<Float>(repeating: pad)
    withUnsafeMutableBytes(of: &v) { $0.baseAddress!.copyMemory(from: p, byteCount: n * MemoryLayout<Float>.stride) }
    return v
}

/// Stores the first `n` < 16 lanes of `v` at `p`.
@_transparent
package func storePartial(_ p: UnsafeMutablePointer<Float>, _ v: SIMD16<Float>, _ n: Int) {
    withUnsafeBytes(of: v) { UnsafeMutableRawPointer(p).copyMemory(from: $0.baseAddress!, byteCount: n * MemoryLayout<Float>.stride) }
}

/// Loads 8 floats from `p` (any alignment).
@_transparent
package func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }

// MARK: horizontal reductions

/// The sum of the 16 lanes by halving: (lanes 0–7 + lanes 8–15), then again down to two lanes.
/// (The standard library's `sum()` adds the lanes one after another instead.)
@_transparent
package func horizontalSum(_ v: SIMD16<Float>) -> Float {
    let a = v.lowHalf + v.highHalf
    let b = a.lowHalf + a.highHalf
    let c = b.lowHalf + b.highHalf
    return c[0] + c[1]
}

/// The largest of the 16 lanes, scanned from lane 0; a later lane replaces the maximum only when
/// strictly greater, so NaN in lanes 1–15 is ignored and NaN in lane 0 is returned.
@_transparent
package func horizontalMax(_ v: SIMD16<Float>) -> Float {
    var m = v[0]
    for i in 1..<16 where v[i] > m { m = v[i] }
    return m
}

// MARK: dot products

/// Dot products of Float vectors with eight partial sums: an 8-lane fused multiply-add per eight
/// elements, the lanes added in order, then the remaining elements one by one. The
/// nearest-centre search and k-means use this arithmetic; their results depend on it.
package enum VectorDot {
    /// a · b for vectors of length `count`.
    @inlinable @inline(__always)
    package static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count d: Int) -> Float {
        var acc = SIMD8<Float>(repeating: 0)
        var t = 0
        while t + 8 <= d {
            acc = acc.addingProduct(load8(a + t), load8(b + t))
            t += 8
        }
        var s = acc.sum()
        while t < d { s += a[t] * b[t]; t += 1 }
        return s
    }

    /// ‖v‖² for a vector of length `count` (the same arithmetic as `dot(v, v)`).
    @inlinable @inline(__always)
    package static func squaredNorm(_ v: UnsafePointer<Float>, count d: Int) -> Float {
        dot(v, v, count: d)
    }
}

// MARK: parallel chunks

/// Elements per parallel chunk below which a row-wise kernel runs on one thread.
@usableFromInline package let parallelGrainElements = 16_384

/// Rows per chunk so a chunk holds at least `parallelGrainElements` elements.
@_transparent
package func rowGrain(_ cols: Int) -> Int { max(1, parallelGrainElements / max(1, cols)) }

/// Runs body(lo, hi) over parallel chunks of 0..<count of about `grain` elements whose bounds
/// are multiples of 16 (so every chunk but the last is whole vectors).
@inline(__always)
package func forEachChunk16(_ count: Int, grain: Int, _ body: (Int, Int) -> Void) {
    Parallel.forEach((count + 15) / 16, grain: grain / 16) { blocks in
        body(blocks.lowerBound * 16, min(count, blocks.upperBound * 16))
    }
}
