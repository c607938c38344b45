import Foundation
import Testing
import TestSupport
import MoDETensor
@testable import MoDEFormats

/// Path of Fixtures/torch/`name` (written by tools/torch_checkpoint_fixtures.py).
func torchFixture(_ name: String) throws -> String {
    let stem = (name as NSString).deletingPathExtension
    guard let url = Bundle.module.url(forResource: stem, withExtension: "pt", subdirectory: "Fixtures/torch") else {
        throw TorchFixtureNotFound(name: name)
    }
    return url.path
}

/// A missing Fixtures/torch file.
struct TorchFixtureNotFound: Error, CustomStringConvertible {
    let name: String
    var description: String { "fixture Fixtures/torch/\(name) not found; generate it with tools/torch_checkpoint_fixtures.py" }
}

/// The problem a failed open reports (nil when it opens).
func openProblem(_ path: String) -> TorchCheckpointError.Problem? {
    do {
        _ = try TorchCheckpointFile(path: path)
        return nil
    } catch let e as TorchCheckpointError {
        return e.problem
    } catch {
        Issue.record("unexpected error type: \(error)")
        return nil
    }
}

@Suite struct TorchCheckpointTests {
    static let manifest: JSONValue? = Bundle.module.url(forResource: "torch_checkpoints", withExtension: "json", subdirectory: "Fixtures")
        .flatMap { try? JSONValue.read($0.path) }

    static let validFiles = ["dtypes.pt", "views.pt", "module.pt", "training.pt", "params.pt", "protocol5.pt", "deflated.pt", "zip64.pt"]

    /// Every tensor of every valid file: names in order, dtypes, shapes and values as torch sees them.
    @Test(arguments: validFiles)
    func readsLikeTorch(_ file: String) throws {
        let entry = try #require(Self.manifest?["files"]?[file], "torch_checkpoints.json lacks \(file)")
        let expected = try fixture("torch_checkpoints_expected")
        let f = try TorchCheckpointFile(path: try torchFixture(file))
        let names = (entry["names"]?.elements ?? []).compactMap(\.string)
        #expect(f.names == names)
        let dtypes = (entry["dtypes"]?.elements ?? []).compactMap(\.string)
        let shapes = (entry["shapes"]?.elements ?? []).map { ($0.elements ?? []).compactMap(\.integer) }
        #expect(!names.isEmpty && dtypes.count == names.count && shapes.count == names.count)
        for (i, name) in names.enumerated() {
            #expect(f.dtype(name)?.rawValue == dtypes[i], "\(file) \(name)")
            #expect(f.shape(name) == shapes[i], "\(file) \(name)")
            let want = try expected.tensor("\(file):\(name)")
            let got = try f.floatTensor(name)
            // Every conversion here is exact (the fixtures' values are representable in Float32).
            #expect(got.shape == want.shape)
            #expect((0..<want.count).allSatisfy { got.data[$0].bitPattern == want.data[$0].bitPattern || (got.data[$0].isNaN && want.data[$0].isNaN) },
                    "\(file) \(name): \(Array(UnsafeBufferPointer(start: got.data, count: got.count))) vs \(Array(UnsafeBufferPointer(start: want.data, count: want.count)))")
        }
    }

    @Test func trainingCheckpointExposesItsStateDictAndExtras() throws {
        let f = try TorchCheckpointFile(path: try torchFixture("training.pt"))
        #expect(f.stateDictKey == "state_dict")
        #expect(f.names.allSatisfy { !$0.hasPrefix("module.") })
        let recorded = try #require(Self.manifest?["files"]?["training.pt"]?["extras"])
        #expect(f.extras["epoch"] == .int(try #require(recorded["epoch"]?.integer)))
        #expect(f.extras["name"] == .string(try #require(recorded["name"]?.string)))
        #expect(f.extras["lr"]?.double == recorded["lr"]?.double)
        // The AdamW state is kept inertly: per-parameter moments are described, not loaded.
        guard case .dict(let optimizer)? = f.extras["optimizer"] else {
            Issue.record("optimizer state missing: \(String(describing: f.extras["optimizer"]))")
            return
        }
        #expect(optimizer.map(\.key) == ["state", "param_groups"])
        guard case .dict(let state) = optimizer[0].value, case .dict(let first)? = state.first?.value else {
            Issue.record("optimizer state has no per-parameter entry")
            return
        }
        #expect(first.contains { $0.key == "exp_avg" && $0.value == .tensor(dtype: .f32, shape: [4, 3]) })
    }

    @Test func plainStateDictHasNoExtras() throws {
        let f = try TorchCheckpointFile(path: try torchFixture("module.pt"))
        #expect(f.stateDictKey == nil)
        #expect(f.extras.isEmpty)
        #expect(f.names.contains("2.num_batches_tracked"))
    }

    @Test func shapeMismatchAndMissingTensorAreErrors() throws {
        let path = try torchFixture("dtypes.pt")
        let f = try TorchCheckpointFile(path: path)
        var out = [Float](repeating: 0, count: 6)
        #expect(throws: TorchCheckpointError(path: path, .shapeMismatch(name: "f32", expected: [3, 2], actual: [2, 3]))) {
            try f.read("f32", into: &out, shape: [3, 2])
        }
        #expect(throws: TorchCheckpointError(path: path, .missingTensor(name: "nope"))) { try f.read("nope", into: &out, shape: [1]) }
    }

    @Test func legacyFormatIsRefusedWithTheConversionCommand() throws {
        let path = try torchFixture("legacy.pt")
        #expect(openProblem(path) == .legacyFormat)
        let message = TorchCheckpointError(path: path, .legacyFormat).description
        #expect(message.contains(path) && message.contains("torch.save(torch.load('OLD', map_location='cpu'), 'NEW.pt')"))
    }

    @Test func torchScriptIsRefusedWithTheConversionCommand() throws {
        let path = try torchFixture("torchscript.pt")
        #expect(openProblem(path) == .torchScript)
        #expect(TorchCheckpointError(path: path, .torchScript).description.contains("torch.jit.load('X.pt', map_location='cpu')"))
    }

    static let marker = "/tmp/mode-torch-fixture-pwned"

    /// Hostile pickles: each is refused naming what it tried to call, and nothing runs.
    @Test(arguments: [
        ("evil_os_system.pt", "os.system"), ("evil_eval.pt", "builtins.eval"), ("evil_nested.pt", "subprocess.Popen"),
        ("evil_getattr.pt", "builtins.getattr"), ("evil_popen.pt", "subprocess.Popen"),
    ])
    func hostileGlobalsAreRefused(_ file: String, _ global: String) throws {
        try? FileManager.default.removeItem(atPath: Self.marker)
        let path = try torchFixture(file)
        #expect(openProblem(path) == .refusedGlobal(global))
        let message = TorchCheckpointError(path: path, .refusedGlobal(global)).description
        #expect(message == "\(path): refusing to load: the pickle calls \(global); only PyTorch tensors and plain containers are allowed")
        #expect(!FileManager.default.fileExists(atPath: Self.marker))
    }

    @Test func instOpcodeIsRefusedByName() throws {
        guard case .opcode(_, 0x69, "INST")? = openProblem(try torchFixture("evil_inst.pt")) else {
            Issue.record("INST not refused by name")
            return
        }
    }

    @Test(arguments: [("huge_numel.pt", "declares 1000000000000 elements of F32 but its entry holds 24 bytes"),
                      ("short_storage.pt", "declares 8 elements of F32 but its entry holds 24 bytes"),
                      ("view_out_of_range.pt", "reaches element 8 of a 6-element storage")])
    func sizeProblemsAreStated(_ file: String, _ reason: String) throws {
        guard case .invalidTensor("w", let r)? = openProblem(try torchFixture(file)) else {
            Issue.record("\(file) opened or failed otherwise")
            return
        }
        #expect(r.contains(reason), "\(r)")
    }

    @Test func notACheckpoint() throws {
        let path = NSTemporaryDirectory() + "mode-torch-not-a-checkpoint-\(getpid()).pt"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data("hello, world".utf8).write(to: URL(fileURLWithPath: path))
        #expect(openProblem(path) == .notACheckpoint)
        try Data().write(to: URL(fileURLWithPath: path))
        #expect(openProblem(path) == .notACheckpoint)
    }

    /// A TorchCheckpointFile serves ParameterArena-style loading through the TensorStore protocol.
    @Test func conformsToTensorStore() throws {
        let store: any TensorStore = try TorchCheckpointFile(path: try torchFixture("views.pt"))
        #expect(store.contains("transposed"))
        let t = try store.floatTensor("transposed")
        #expect(t.shape == [4, 3])
        #expect(Array(UnsafeBufferPointer(start: t.data, count: 3)) == [0, 4, 8])
    }
}
