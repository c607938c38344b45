import Foundation
import MoDEFormats
import MoDETensor

/// numpy's `.npy` format, version 1.0, for little-endian float32 arrays in C order
/// (`numpy.save` of a float32 array on a little-endian machine; `numpy.load` reads it back).
public enum NPYFile {
    /// The bytes before the data: the magic string `\x93NUMPY`, version 1.0, the header length
    /// (little-endian UInt16) and the header, a Python dict literal padded with spaces and ended
    /// by a newline so that the data starts at a multiple of 64 bytes.
    public static func header(shape: [Int]) -> [UInt8] {
        let dims = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var dict = Array("{'descr': '<f4', 'fortran_order': False, 'shape': \(dims), }".utf8)
        let preamble = 10  // magic (6), version (2), header length (2)
        let total = (preamble + dict.count + 1 + 63) / 64 * 64
        dict += repeatElement(UInt8(ascii: " "), count: total - preamble - dict.count - 1)
        dict.append(UInt8(ascii: "\n"))
        let n = UInt16(dict.count)
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(n & 0xFF), UInt8(n >> 8)] + dict
    }

    /// Writes `values` (shape as given, C order) to `path` atomically.
    public static func write(_ values: UnsafePointer<Float>, shape: [Int], to path: String) throws {
        let count = shape.reduce(1, *)
        try AtomicFile.write(to: path) { out in
            try out.write(header(shape: shape))
            var le = [Float](repeating: 0, count: count)
            for i in 0..<count { le[i] = Float(bitPattern: values[i].bitPattern.littleEndian) }
            try le.withUnsafeBytes { try out.write($0) }
        }
    }

    /// Writes tensor `t` to `path` atomically.
    public static func write(_ t: Tensor, to path: String) throws { try write(t.data, shape: t.shape, to: path) }
}
