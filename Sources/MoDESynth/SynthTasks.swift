import Foundation
import MoDEData
import MoDETensor
import MoDEFormats

extension SynthCorpus {
    // MARK: zero-shot tasks

    struct TaskSpec {
        var name: String
        var kind: BenchmarkTask.Kind
        var classnames: [String]
        var templates: [String]
        /// (domain, class, label) of every sample, in file order.
        var items: [(domain: SynthDomain, cls: Int, label: Int)]
    }

    /// The held-out tasks: one fine-grained task per domain, the coarse `domains` task, the
    /// `mixed` task (two classes of each domain), and `retrieval`. Sample order is shuffled.
    static func taskSpecs(_ c: SynthConfig) -> [TaskSpec] {
        let m = c.tasksPerClass
        guard m > 0 else { return [] }
        var specs: [TaskSpec] = []
        var rng = SeededRNG(seed: streamSeed(c.seed, Stream.task.rawValue, 0))
        for d in c.domains {
            var items: [(domain: SynthDomain, cls: Int, label: Int)] = []
            for k in d.classes.indices { for _ in 0..<m { items.append((d, k, k)) } }
            specs.append(TaskSpec(name: d.rawValue, kind: .classification, classnames: d.classes.map(\.name),
                                  templates: d.taskTemplates, items: rng.shuffled(items)))
        }
        if c.domains.count > 1 {
            var coarse: [(domain: SynthDomain, cls: Int, label: Int)] = []
            for (l, d) in c.domains.enumerated() { for j in 0..<(2 * m) { coarse.append((d, j % d.classes.count, l)) } }
            specs.append(TaskSpec(name: "domains", kind: .classification, classnames: c.domains.map(\.coarseName),
                                  templates: ["a picture of a {c}.", "an image of a {c}.", "a {c}.", "an example of a {c}."],
                                  items: rng.shuffled(coarse)))
            var mixed: [(domain: SynthDomain, cls: Int, label: Int)] = []
            var names: [String] = []
            for d in c.domains {
                for k in d.mixedClasses {
                    for _ in 0..<m { mixed.append((d, k, names.count)) }
                    names.append(d.classes[k].mixedName)
                }
            }
            specs.append(TaskSpec(name: "mixed", kind: .classification, classnames: names,
                                  templates: ["a picture of the {c}.", "an image of the {c}.", "the {c}.", "a drawing of the {c}."],
                                  items: rng.shuffled(mixed)))
        }
        var retrieval: [(domain: SynthDomain, cls: Int, label: Int)] = []
        for (d, n) in zip(c.domains, apportion(10 * m, c.weights)) {
            for j in 0..<n { retrieval.append((d, j % d.classes.count, 0)) }
        }
        specs.append(TaskSpec(name: "retrieval", kind: .retrieval, classnames: [], templates: [], items: rng.shuffled(retrieval)))
        return specs
    }

    /// Renders and writes one task folder; images are rendered in parallel, from the task's own streams.
    static func writeTask(_ spec: TaskSpec, index t: Int, config c: SynthConfig, directory: String, counter: ProgressCounter) throws {
        let stream = Stream.task.rawValue + 1 + UInt64(t)
        let n = spec.items.count
        let out = Locked([(image: [UInt8], text: String)?](repeating: nil, count: n))
        Parallel.forEach(n, grain: 16) { range in
            for j in range {
                var rng = SeededRNG(seed: streamSeed(c.seed, stream, UInt64(j)))
                let item = spec.items[j]
                let (rendered, attrs) = render(item.domain, classIndex: item.cls, size: c.size, pixelNoise: c.pixelNoise, rng: &rng)
                var text = String(item.label) + "\n"
                if spec.kind == .retrieval {
                    var captions: [String] = []
                    for style in [CaptionStyle.descriptive, .alt, .descriptive, .alt] where captions.count < 3 {
                        let cap = Captions.caption(item.domain, item.cls, attrs, style: style, &rng)
                        if !captions.contains(cap) { captions.append(cap) }
                    }
                    text = captions.joined(separator: "\n") + "\n"
                }
                let image = c.imageFormat.encode(rendered)
                out.withLock { $0[j] = (image, text) }
            }
            counter.add(range.count)
        }
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory + "/test", withIntermediateDirectories: true)
        if spec.kind == .retrieval {
            try AtomicFile.write(Array("retrieval\n".utf8), to: directory + "/dataset_type.txt")
        } else {
            try AtomicFile.write(Array((spec.classnames.joined(separator: "\n") + "\n").utf8), to: directory + "/classnames.txt")
            try AtomicFile.write(Array((spec.templates.joined(separator: "\n") + "\n").utf8),
                                 to: directory + "/zeroshot_classification_templates.txt")
        }
        let w = try TarWriter(path: directory + "/test/0.tar")
        for (j, sample) in out.value.enumerated() {
            let key = "s" + padded(j, 7)
            try w.add(key + "." + c.imageFormat.ext, sample!.image)
            try w.add(key + (spec.kind == .retrieval ? ".txt" : ".cls"), Array(sample!.text.utf8))
        }
        try w.finish()
        try AtomicFile.write(Array("1\n".utf8), to: directory + "/test/nshards.txt")
    }

}
