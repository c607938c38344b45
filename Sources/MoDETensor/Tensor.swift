import Foundation

/// A contiguous, 64-byte-aligned Float32 array with a shape (row-major). Reference type: copying
/// the reference shares storage; use `copy()` for a new buffer.
public final class Tensor: @unchecked Sendable, CustomStringConvertible {
    public let shape: [Int]
    public let count: Int
    /// The elements, row-major. Valid for the tensor's lifetime.
    public let data: UnsafeMutablePointer<Float>

    /// A zero-filled tensor of `shape`.
    public init(shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.data = Tensor.allocate(count)
        data.initialize(repeating: 0, count: count)
    }

    /// A tensor of `shape` holding `values` (row-major).
    public convenience init(shape: [Int], values: [Float]) {
        self.init(shape: shape)
        precondition(values.count == count, "\(values.count) values for shape \(shape)")
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }

    /// A tensor of `shape` with every element equal to `value`.
    public convenience init(shape: [Int], repeating value: Float) {
        self.init(shape: shape)
        data.update(repeating: value, count: count)
    }

    /// Standard-normal entries times `std`, from `rng`.
    public static func randn(_ shape: [Int], std: Float = 1, rng: inout SeededRNG) -> Tensor {
        let t = Tensor(shape: shape)
        for i in 0..<t.count { t.data[i] = rng.nextNormal() * std }
        return t
    }

    /// Uniform entries in [lo, hi), from `rng`.
    public static func uniform(_ shape: [Int], _ lo: Float, _ hi: Float, rng: inout SeededRNG) -> Tensor {
        let t = Tensor(shape: shape)
        for i in 0..<t.count { t.data[i] = lo + (hi - lo) * rng.nextFloat() }
        return t
    }

    deinit { free(data) }

    static func allocate(_ n: Int) -> UnsafeMutablePointer<Float> {
        var p: UnsafeMutableRawPointer?
        let bytes = max(64, n * MemoryLayout<Float>.stride)
        guard posix_memalign(&p, 64, bytes) == 0, let p else { fatalError("out of memory allocating \(bytes) bytes") }
        return p.bindMemory(to: Float.self, capacity: max(1, n))
    }

    public var rank: Int { shape.count }
    public subscript(i: Int) -> Float {
        get { data[i] }
        set { data[i] = newValue }
    }
    /// A copy of the elements as an array.
    public var array: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }
    /// A new tensor with the same shape and elements.
    public func copy() -> Tensor { Tensor(shape: shape, values: array) }
    /// A new tensor with the same elements and another shape of equal size.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(newShape.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        let t = Tensor(shape: newShape)
        t.data.update(from: data, count: count)
        return t
    }
    public func fill(_ v: Float) { data.update(repeating: v, count: count) }
    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: data, count: count) }

    public var description: String {
        let head = (0..<min(count, 6)).map { String(format: "%.5g", data[$0]) }.joined(separator: ", ")
        return "Tensor\(shape)[\(head)\(count > 6 ? ", …" : "")]"
    }
}
