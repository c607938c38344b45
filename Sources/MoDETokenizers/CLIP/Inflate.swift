/// A failure to decompress gzip / deflate data: what was wrong and where.
public struct InflateError: Error, CustomStringConvertible, Equatable {
    public var description: String
}

/// gzip (RFC 1952) reader: one or more members, each a deflate stream checked against its
/// CRC-32 and length. Self-contained (no zlib), small and fast enough for vocabulary files.
public enum Gzip {
    /// True when `data` starts with the gzip magic bytes 1f 8b.
    public static func isGzip(_ data: [UInt8]) -> Bool {
        data.count >= 2 && data[0] == 0x1F && data[1] == 0x8B
    }

    /// Decompresses all members of a gzip file. Throws on bad headers, corrupt deflate data,
    /// or a CRC-32 / size mismatch.
    public static func decompress(_ data: [UInt8]) throws -> [UInt8] {
        var out: [UInt8] = []
        var pos = 0
        repeat {
            let start = try headerEnd(data, from: pos)
            let member = try Inflate.inflate(data, from: start)
            let trailer = member.end
            guard trailer + 8 <= data.count else { throw InflateError(description: "gzip trailer truncated") }
            let crc = readLE32(data, trailer), size = readLE32(data, trailer + 4)
            guard crc == CRC32.checksum(member.output) else {
                throw InflateError(description: "gzip CRC-32 mismatch (member at byte \(pos))")
            }
            guard size == UInt32(truncatingIfNeeded: member.output.count) else {
                throw InflateError(description: "gzip length mismatch (member at byte \(pos))")
            }
            out += member.output
            pos = trailer + 8
            // Some writers pad with zeros after the last member; stop at anything that is not a member.
        } while pos + 2 <= data.count && data[pos] == 0x1F && data[pos + 1] == 0x8B
        return out
    }

    /// Offset of the deflate data after the member header starting at `pos`.
    private static func headerEnd(_ d: [UInt8], from pos: Int) throws -> Int {
        guard pos + 10 <= d.count, d[pos] == 0x1F, d[pos + 1] == 0x8B else {
            throw InflateError(description: "not a gzip stream (bad magic at byte \(pos))")
        }
        guard d[pos + 2] == 8 else { throw InflateError(description: "gzip compression method \(d[pos + 2]) is not deflate") }
        let flags = d[pos + 3]
        var p = pos + 10
        if flags & 0x04 != 0 {  // FEXTRA
            guard p + 2 <= d.count else { throw InflateError(description: "gzip header truncated") }
            p += 2 + Int(d[p]) | Int(d[p + 1]) << 8
        }
        for bit in [UInt8(0x08), 0x10] where flags & bit != 0 {  // FNAME, FCOMMENT: zero-terminated
            while p < d.count, d[p] != 0 { p += 1 }
            p += 1
        }
        if flags & 0x02 != 0 { p += 2 }  // FHCRC
        guard p <= d.count else { throw InflateError(description: "gzip header truncated") }
        return p
    }

    private static func readLE32(_ d: [UInt8], _ p: Int) -> UInt32 {
        UInt32(d[p]) | UInt32(d[p + 1]) << 8 | UInt32(d[p + 2]) << 16 | UInt32(d[p + 3]) << 24
    }
}

/// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320) as used by gzip.
public enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// CRC-32 of `bytes`.
    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        table.withUnsafeBufferPointer { t in
            for b in bytes { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        }
        return c ^ 0xFFFF_FFFF
    }
}

/// Raw deflate (RFC 1951) decoder: stored, fixed-Huffman and dynamic-Huffman blocks.
public enum Inflate {
    /// Decodes the deflate stream that starts at byte `from`; returns the output and the offset
    /// of the first byte after the stream (the stream ends on a byte boundary after its last block).
    public static func inflate(_ data: [UInt8], from: Int = 0) throws -> (output: [UInt8], end: Int) {
        var reader = BitReader(data: data, pos: from)
        var out: [UInt8] = []
        out.reserveCapacity(max(1024, (data.count - from) * 3))
        var last = false
        while !last {
            last = try reader.bits(1) == 1
            switch try reader.bits(2) {
            case 0: try storedBlock(&reader, &out)
            case 1: try huffmanBlock(&reader, &out, literals: fixedLiterals, distances: fixedDistances)
            case 2:
                let (lit, dist) = try dynamicTables(&reader)
                try huffmanBlock(&reader, &out, literals: lit, distances: dist)
            default: throw InflateError(description: "deflate block type 3 is reserved (corrupt data)")
            }
        }
        return (out, reader.byteAlignedEnd)
    }

    // MARK: blocks

    private static func storedBlock(_ r: inout BitReader, _ out: inout [UInt8]) throws {
        r.alignToByte()
        let len = try r.bits(16), nlen = try r.bits(16)
        guard len == ~nlen & 0xFFFF else { throw InflateError(description: "stored block length check failed") }
        try r.copyBytes(Int(len), into: &out)
    }

    private static let lengthBase: [Int] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
                                            35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    private static let lengthExtra: [Int] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
                                             3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    private static let distBase: [Int] = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385,
                                          513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
    private static let distExtra: [Int] = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7,
                                           8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]

    private static func huffmanBlock(_ r: inout BitReader, _ out: inout [UInt8],
                                     literals: HuffmanTable, distances: HuffmanTable) throws {
        while true {
            let sym = try r.decode(literals)
            if sym < 256 {
                out.append(UInt8(sym))
            } else if sym == 256 {
                return
            } else {
                let li = sym - 257
                guard li < 29 else { throw InflateError(description: "invalid length symbol \(sym)") }
                let length = lengthBase[li] + Int(try r.bits(lengthExtra[li]))
                let ds = try r.decode(distances)
                guard ds < 30 else { throw InflateError(description: "invalid distance symbol \(ds)") }
                let distance = distBase[ds] + Int(try r.bits(distExtra[ds]))
                guard distance <= out.count else {
                    throw InflateError(description: "distance \(distance) reaches before the start of the output")
                }
                // Byte by byte: the source may overlap the bytes being written (run-length copies).
                var from = out.count - distance
                for _ in 0..<length {
                    out.append(out[from])
                    from += 1
                }
            }
        }
    }

    /// Order in which code-length code lengths are stored (RFC 1951 §3.2.7).
    private static let codeLengthOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    private static func dynamicTables(_ r: inout BitReader) throws -> (HuffmanTable, HuffmanTable) {
        let hlit = Int(try r.bits(5)) + 257, hdist = Int(try r.bits(5)) + 1, hclen = Int(try r.bits(4)) + 4
        guard hlit <= 286, hdist <= 30 else { throw InflateError(description: "too many length or distance codes") }
        var clLengths = [UInt8](repeating: 0, count: 19)
        for i in 0..<hclen { clLengths[codeLengthOrder[i]] = UInt8(try r.bits(3)) }
        let clTable = try HuffmanTable(lengths: clLengths)
        var lengths: [UInt8] = []
        lengths.reserveCapacity(hlit + hdist)
        while lengths.count < hlit + hdist {
            let sym = try r.decode(clTable)
            switch sym {
            case 0..<16: lengths.append(UInt8(sym))
            case 16:
                guard let prev = lengths.last else { throw InflateError(description: "repeat code with no previous length") }
                lengths += repeatElement(prev, count: 3 + Int(try r.bits(2)))
            case 17: lengths += repeatElement(0, count: 3 + Int(try r.bits(3)))
            default: lengths += repeatElement(0, count: 11 + Int(try r.bits(7)))
            }
        }
        guard lengths.count == hlit + hdist else { throw InflateError(description: "code lengths overrun the table") }
        guard lengths[256] != 0 else { throw InflateError(description: "dynamic block has no end-of-block code") }
        return (try HuffmanTable(lengths: Array(lengths[0..<hlit])), try HuffmanTable(lengths: Array(lengths[hlit...])))
    }

    private static let fixedLiterals: HuffmanTable = {
        var l = [UInt8](repeating: 8, count: 288)
        for i in 144..<256 { l[i] = 9 }
        for i in 256..<280 { l[i] = 7 }
        return try! HuffmanTable(lengths: l)
    }()
    private static let fixedDistances = try! HuffmanTable(lengths: [UInt8](repeating: 5, count: 30))
}

/// Canonical Huffman code as a direct lookup table over the next `maxBits` input bits
/// (bit-reversed, since deflate packs codes most-significant bit first into an LSB-first stream).
/// Entry = symbol << 4 | code length; 0 marks a bit pattern no code uses.
struct HuffmanTable {
    let maxBits: Int
    let entries: [UInt32]

    init(lengths: [UInt8]) throws {
        let maxLen = Int(lengths.max() ?? 0)
        guard maxLen <= 15 else { throw InflateError(description: "Huffman code longer than 15 bits") }
        maxBits = max(maxLen, 1)
        var count = [Int](repeating: 0, count: 16)
        for l in lengths where l > 0 { count[Int(l)] += 1 }
        // Over-subscribed codes are corrupt; incomplete ones are legal (e.g. a single distance code).
        var left = 1
        for len in 1...15 {
            left = left * 2 - count[len]
            guard left >= 0 else { throw InflateError(description: "over-subscribed Huffman code") }
        }
        var next = [Int](repeating: 0, count: 16)
        var code = 0
        for len in 1...15 {
            code = (code + count[len - 1]) << 1
            next[len] = code
        }
        var table = [UInt32](repeating: 0, count: 1 << maxBits)
        for (sym, l) in lengths.enumerated() where l > 0 {
            let len = Int(l)
            var c = next[len]
            next[len] += 1
            var rev = 0
            for _ in 0..<len { rev = rev << 1 | c & 1; c >>= 1 }
            let entry = UInt32(sym) << 4 | UInt32(len)
            var i = rev
            while i < table.count { table[i] = entry; i += 1 << len }
        }
        entries = table
    }
}

/// LSB-first bit reader over a byte array.
struct BitReader {
    let data: [UInt8]
    var pos: Int
    private var bitBuf: UInt64 = 0
    private var bitCount = 0

    init(data: [UInt8], pos: Int) {
        self.data = data
        self.pos = pos
    }

    /// Fills the buffer to at least `n` bits if the input allows; returns false at end of input.
    @inline(__always) private mutating func fill(_ n: Int) -> Bool {
        while bitCount < n {
            guard pos < data.count else { return false }
            bitBuf |= UInt64(data[pos]) << UInt64(bitCount)
            pos += 1
            bitCount += 8
        }
        return true
    }

    /// The next `n` (0…16) bits as an unsigned number, least significant first.
    mutating func bits(_ n: Int) throws -> UInt32 {
        if n == 0 { return 0 }
        guard fill(n) else { throw InflateError(description: "deflate data ends early") }
        let v = UInt32(truncatingIfNeeded: bitBuf & ((1 << UInt64(n)) - 1))
        bitBuf >>= UInt64(n)
        bitCount -= n
        return v
    }

    /// Decodes one symbol with `table`.
    mutating func decode(_ table: HuffmanTable) throws -> Int {
        _ = fill(table.maxBits)  // near the end fewer bits may remain; the code may still fit
        let entry = table.entries[Int(truncatingIfNeeded: bitBuf & ((1 << UInt64(table.maxBits)) - 1))]
        let len = Int(entry & 0xF)
        guard len > 0, len <= bitCount else { throw InflateError(description: "invalid Huffman code or data ends early") }
        bitBuf >>= UInt64(len)
        bitCount -= len
        return Int(entry >> 4)
    }

    /// Drops the bits left in the current byte.
    mutating func alignToByte() {
        let drop = bitCount % 8
        bitBuf >>= UInt64(drop)
        bitCount -= drop
    }

    /// Copies `n` whole bytes (the reader must be byte-aligned).
    mutating func copyBytes(_ n: Int, into out: inout [UInt8]) throws {
        var n = n
        while n > 0, bitCount >= 8 {
            out.append(UInt8(truncatingIfNeeded: bitBuf))
            bitBuf >>= 8
            bitCount -= 8
            n -= 1
        }
        guard pos + n <= data.count else { throw InflateError(description: "stored block runs past the end of the data") }
        out += data[pos..<(pos + n)]
        pos += n
    }

    /// Offset of the first byte not (even partly) consumed, after dropping the partial byte.
    var byteAlignedEnd: Int { pos - bitCount / 8 }
}
