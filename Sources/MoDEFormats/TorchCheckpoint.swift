// PyTorch checkpoints as torch.save writes them (PyTorch ≥ 1.6): a zip archive whose one top
// folder (any name) holds `data.pkl`, a pickle of the saved object in which each tensor is a
// `_rebuild_tensor_v2(storage, offset, size, stride, …)` call and each storage a persistent id
// naming the entry `data/<key>` with the raw little-endian elements (stored, uncompressed, so
// they are read in place from a memory map). The pickle is read by a restricted unpickler
// (`Unpickler`): nothing is imported or run.

/// A PyTorch checkpoint (`torch.save` of a state dict or of a training checkpoint holding one),
/// memory-mapped read-only. The archive and its pickle are fully validated on opening, and every
/// tensor checked against its storage; data is read (and converted) on request.
///
/// The state dict is the top-level dict when its values are tensors, else the dict under
/// `state_dict`, `model` or `module` (open_clip's `epoch_N.pt` and similar training checkpoints);
/// a `module.` prefix on every key (DistributedDataParallel) is removed. The other top-level
/// entries are kept as inert values in `extras`.
public final class TorchCheckpointFile: TensorStore, @unchecked Sendable {
    /// The file's path, as given.
    public let path: String
    /// Tensor names, in the state dict's order.
    public let names: [String]
    /// The top-level key the state dict was found under, or nil when it is the top level.
    public let stateDictKey: String?
    /// The other top-level entries (e.g. `epoch`, `name`, optimizer state) as inert values.
    public let extras: [String: TorchCheckpointValue]
    private let tensors: [String: Tensor]
    private let file: MappedFile
    /// Decompressed copies of deflated storages (torch.save never writes them, other zip tools may).
    private let inflated: [UnsafeMutableRawBufferPointer]

    /// One tensor: its view and where its storage's bytes are.
    private struct Tensor {
        var view: TorchTensorRef
        var count: Int
        var data: UnsafeRawPointer
    }

    /// Opens `path`, validating the archive, the pickle and every tensor. Throws `TorchCheckpointError`.
    public convenience init(path: String) throws {
        try self.init(try MappedFile(path: path))
    }

    /// Opens the checkpoint in `file` (mapped, or a copy in memory).
    init(_ file: MappedFile) throws {
        let path = file.path
        self.path = path
        self.file = file
        let bytes = file.bytes
        func zipError(_ reason: String) -> Error { TorchCheckpointError(path: path, .zip(reason)) }
        if bytes.count >= 2 && bytes[0] == 0x80 && bytes[1] <= 5 { throw TorchCheckpointError(path: path, .legacyFormat) }
        guard bytes.count >= 4, bytes[0] == 0x50, bytes[1] == 0x4B, bytes[2] == 3 || bytes[2] == 5 else {
            throw TorchCheckpointError(path: path, .notACheckpoint)
        }
        let zip = try ZipArchive(bytes, fail: zipError)

        // The top folder is the one holding data.pkl; TorchScript archives also hold constants.pkl and code/.
        let pickles = zip.entries.filter { $0.name.hasSuffix("/data.pkl") && $0.name.split(separator: "/", omittingEmptySubsequences: false).count == 2 }
        guard pickles.count <= 1 else { throw zipError("several top folders hold a data.pkl") }
        guard let pickleEntry = pickles.first else {
            if zip.entries.contains(where: { $0.name.hasSuffix("/constants.pkl") }) { throw TorchCheckpointError(path: path, .torchScript) }
            throw TorchCheckpointError(path: path, .missingEntry("<folder>/data.pkl"))
        }
        let prefix = String(pickleEntry.name.dropLast("data.pkl".count))
        if zip.entry(prefix + "constants.pkl") != nil || zip.entries.contains(where: { $0.name.hasPrefix(prefix + "code/") }) {
            throw TorchCheckpointError(path: path, .torchScript)
        }
        if let order = zip.entry(prefix + "byteorder") {
            let text = try Self.contents(order, bytes, zipError)
            guard text.elementsEqual("little".utf8) else {
                throw TorchCheckpointError(path: path, .zip("byteorder is \"\(String(decoding: text, as: UTF8.self))\"; only little-endian checkpoints are supported"))
            }
        }

        let pickleBytes = try Self.contents(pickleEntry, bytes, zipError)
        let contents = try pickleBytes.withUnsafeBytes { buffer in
            let unpickler = Unpickler(buffer, path: path)
            defer { unpickler.release() }
            return try TorchCheckpointContents(try unpickler.load(), path: path)
        }
        stateDictKey = contents.stateDictKey
        extras = contents.extras
        names = contents.tensors.map(\.name)

        // Every storage must be an entry of exactly the declared size, and every view must fit in it;
        // all is checked before anything is allocated.
        var storages: [String: (dtype: DType, data: UnsafeRawPointer)] = [:]
        var inflated: [UnsafeMutableRawBufferPointer] = []
        var tensors: [String: Tensor] = [:]
        do {
            for (name, view) in contents.tensors {
                func invalid(_ reason: String) -> TorchCheckpointError { TorchCheckpointError(path: path, .invalidTensor(name: name, reason: reason)) }
                let s = view.storage
                let entryName = prefix + "data/" + s.key
                guard let entry = zip.entry(entryName) else { throw TorchCheckpointError(path: path, .missingEntry(entryName)) }
                let (byteCount, overflow) = s.count.multipliedReportingOverflow(by: s.dtype.size)
                guard !overflow, byteCount == entry.uncompressedSize else {
                    throw invalid("storage \(s.key) declares \(s.count) elements of \(s.dtype.rawValue) but its entry holds \(entry.uncompressedSize) bytes")
                }
                let count: Int
                switch view.validate() {
                case .success(let c): count = c
                case .failure(let e): throw invalid(e.reason)
                }
                if storages[s.key] == nil {
                    if entry.method == 0 {
                        storages[s.key] = (s.dtype, bytes.baseAddress! + entry.dataOffset)
                    } else {
                        try ZipArchive.checkRatio(entry, fail: zipError)
                        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(byteCount, 1), alignment: 16)
                        inflated.append(buffer)
                        try ZipArchive.inflate(entry, in: bytes, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<byteCount]), fail: zipError)
                        storages[s.key] = (s.dtype, UnsafeRawPointer(buffer.baseAddress!))
                    }
                }
                guard let stored = storages[s.key], stored.dtype == s.dtype else {
                    throw invalid("storage \(s.key) is used as more than one element type")
                }
                tensors[name] = Tensor(view: view, count: count, data: stored.data)
            }
        } catch {
            for b in inflated { b.deallocate() }
            throw error
        }
        self.tensors = tensors
        self.inflated = inflated
    }

    deinit { for b in inflated { b.deallocate() } }

    /// The bytes of a small entry (data.pkl, byteorder), CRC-32 checked.
    private static func contents(_ e: ZipEntry, _ file: UnsafeRawBufferPointer, _ fail: @escaping (String) -> Error) throws -> [UInt8] {
        if e.method == 8 { return try ZipArchive.inflated(e, in: file, fail: fail) }
        let b = UnsafeRawBufferPointer(rebasing: file[e.dataOffset..<(e.dataOffset + e.uncompressedSize)])
        guard ZipArchive.crc32(b) == e.crc32 else { throw fail("entry \(e.name): CRC-32 mismatch") }
        return Array(b)
    }

    public func shape(_ name: String) -> [Int]? { tensors[name]?.view.shape }

    /// The element type of tensor `name` as stored, or nil when there is no such tensor.
    public func dtype(_ name: String) -> DType? { tensors[name]?.view.storage.dtype }

    /// Converts tensor `name` to Float32 into `out` (`shape`, row-major). Non-contiguous views are
    /// gathered; integer and boolean tensors convert to their values (64-bit integers may round).
    public func read(_ name: String, into out: UnsafeMutablePointer<Float>, shape: [Int]) throws {
        guard let t = tensors[name] else { throw TorchCheckpointError(path: path, .missingTensor(name: name)) }
        guard t.view.shape == shape else { throw TorchCheckpointError(path: path, .shapeMismatch(name: name, expected: shape, actual: t.view.shape)) }
        let dtype = t.view.storage.dtype
        let size = dtype.size
        if Self.isContiguous(t.view) {
            dtype.convertToFloat(out, t.data + t.view.offset * size, count: t.count)
            return
        }
        // Gather: walk the indices in row-major order, the last dimension fastest. Stepping past
        // the end of a dimension may leave the storage (even wrap around) before the carry brings
        // it back, so the arithmetic wraps; every element actually read lies inside (`validate`).
        let rank = shape.count
        var index = [Int](repeating: 0, count: rank)
        var element = t.view.offset
        for i in 0..<t.count {
            dtype.convertToFloat(out + i, t.data + element * size, count: 1)
            var d = rank - 1
            while d >= 0 {
                index[d] += 1
                element = element &+ t.view.strides[d]
                if index[d] < shape[d] { break }
                element = element &- shape[d] &* t.view.strides[d]
                index[d] = 0
                d -= 1
            }
        }
    }

    /// Whether the view's elements are consecutive in row-major order (strides of size-1 dimensions do not matter).
    private static func isContiguous(_ v: TorchTensorRef) -> Bool {
        var expected = 1
        for d in stride(from: v.shape.count - 1, through: 0, by: -1) where v.shape[d] != 1 {
            if v.strides[d] != expected { return false }
            expected *= v.shape[d]
        }
        return true
    }
}
