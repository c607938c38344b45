#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failure reading a PyTorch checkpoint: the file and what is wrong with it.
public struct TorchCheckpointError: Error, CustomStringConvertible, Equatable {
    public enum Problem: Equatable, Sendable {
        /// The system refused an operation (open, stat, mmap); errno attached.
        case system(operation: String, code: Int32)
        case notARegularFile
        /// A bare pickle: the format torch.save wrote before PyTorch 1.6.
        case legacyFormat
        /// A TorchScript archive (torch.jit.save): its weights hang off compiled classes.
        case torchScript
        /// Neither a zip archive nor a legacy checkpoint.
        case notACheckpoint
        /// The zip container is malformed or uses a feature this reader does not support.
        case zip(String)
        /// The archive lacks an entry the format requires.
        case missingEntry(String)
        /// The pickle is malformed (byte offset within data.pkl).
        case pickle(offset: Int, reason: String)
        /// The pickle uses an opcode outside the restricted set.
        case opcode(offset: Int, code: UInt8, name: String)
        /// The pickle imports or calls a global outside the allow-list.
        case refusedGlobal(String)
        /// A tensor or storage record is inconsistent with itself or with the archive.
        case invalidTensor(name: String, reason: String)
        /// No state dict found at the top level or under state_dict / model / module.
        case noStateDict(String)
        case missingTensor(name: String)
        case shapeMismatch(name: String, expected: [Int], actual: [Int])
    }

    /// The file's path.
    public let path: String
    public let problem: Problem

    public init(path: String, _ problem: Problem) {
        self.path = path
        self.problem = problem
    }

    /// The command that re-saves a legacy checkpoint in the zip format (torch ≥ 1.6).
    public static let legacyConversion =
        "python -c \"import torch; torch.save(torch.load('OLD', map_location='cpu'), 'NEW.pt')\""
    /// The command that saves a TorchScript model's state dict as a plain checkpoint.
    public static let torchScriptConversion =
        "python -c \"import torch; m = torch.jit.load('X.pt', map_location='cpu'); torch.save(m.state_dict(), 'X-state.pt')\""

    public var description: String {
        let what: String
        switch problem {
        case let .system(op, code): what = "cannot \(op): \(String(cString: strerror(code)))"
        case .notARegularFile: what = "not a regular file"
        case .legacyFormat:
            what = "a PyTorch checkpoint in the legacy (pre-1.6, non-zip) format, which is not supported; "
                + "re-save it in the zip format with: \(Self.legacyConversion)"
        case .torchScript:
            what = "a TorchScript archive (torch.jit.save), whose weights cannot be read without running its code; "
                + "save its state dict with: \(Self.torchScriptConversion)"
        case .notACheckpoint: what = "not a PyTorch checkpoint (neither a zip archive nor a pickle)"
        case let .zip(reason): what = "malformed zip archive: \(reason)"
        case let .missingEntry(name): what = "the archive has no entry \(name)"
        case let .pickle(offset, reason): what = "malformed pickle at byte \(offset) of data.pkl: \(reason)"
        case let .opcode(offset, code, name):
            what = "refusing to load: pickle opcode \(name) (0x\(String(code, radix: 16))) at byte \(offset) of data.pkl is not allowed"
        case let .refusedGlobal(name):
            what = "refusing to load: the pickle calls \(name); only PyTorch tensors and plain containers are allowed"
        case let .invalidTensor(name, reason): what = "tensor \(name): \(reason)"
        case let .noStateDict(reason): what = "no state dict found: \(reason)"
        case let .missingTensor(name): what = "no tensor named \"\(name)\""
        case let .shapeMismatch(name, expected, actual): what = "tensor \"\(name)\" has shape \(actual), expected \(expected)"
        }
        return "\(path): \(what)"
    }
}
