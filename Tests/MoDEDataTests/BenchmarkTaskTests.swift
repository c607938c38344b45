import Foundation
import Testing
@testable import MoDEData

@Suite struct BenchmarkTaskTests {
    func write(_ path: String, _ text: String) {
        try! FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try! text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    @Test func readsClassificationAndRetrievalTasks() throws {
        let root = temporaryDirectory()
        write(root + "/shapes/classnames.txt", "circle\nsquare\n")
        write(root + "/shapes/zeroshot_classification_templates.txt", "a photo of a {c}.\na drawing of a {c}.\n")
        write(root + "/shapes/test/nshards.txt", "1\n")
        let w = try TarWriter(path: root + "/shapes/test/0.tar")
        try w.add("0.png", [1, 2]); try w.add("0.cls", Array("1\n".utf8))
        try w.add("1.png", [1, 2]); try w.add("1.cls", Array("7".utf8))      // label out of range
        try w.add("2.png", [1, 2])                                             // no label
        try w.add("3.webp", [3]); try w.add("3.cls", Array("0".utf8))
        try w.finish()
        write(root + "/coco/dataset_type.txt", "retrieval\n")
        let r = try TarWriter(path: root + "/coco/test/0.tar")
        try r.add("a.jpg", [9]); try r.add("a.txt", Array("first caption\nsecond caption\n".utf8))
        try r.finish()

        let tasks = try BenchmarkTask.discover(root)
        #expect(tasks.map(\.name) == ["coco", "shapes"])
        let shapes = tasks[1]
        #expect(shapes.kind == .classification && shapes.classnames == ["circle", "square"] && shapes.templates.count == 2)
        let (samples, stats) = try shapes.samples()
        #expect(samples.map(\.label) == [1, 0] && samples.map(\.imageExt) == ["png", "webp"])
        #expect(stats[0].skipped["missing_class"] == 2)
        let (rs, _) = try tasks[0].samples()
        #expect(tasks[0].kind == .retrieval && rs[0].captions == ["first caption", "second caption"])
        #expect(try BenchmarkTask.discover(root, only: "coco").count == 1)
    }

    @Test func badTaskFoldersAreClearErrors() throws {
        let root = temporaryDirectory()
        write(root + "/t/test/nshards.txt", "2")
        #expect { try BenchmarkTask.load(directory: root + "/t") } throws: { "\($0)".contains("classnames.txt") }
        write(root + "/t/classnames.txt", "a\n")
        #expect { try BenchmarkTask.load(directory: root + "/t") } throws: { "\($0)".contains("0.tar") }
        #expect { try BenchmarkTask.discover(root + "/nope") } throws: { "\($0)".contains("no such task folder") }
        #expect { try BenchmarkTask.discover(root, only: "x") } throws: { "\($0)".contains("no task named x") }
    }
}
