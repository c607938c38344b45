import MoDEClustering
import MoDEData
import MoDESynth
import Foundation
import MoDEModels
import MoDETensor
import Testing
import TestSupport
@testable import MoDE

/// Regression test of the whole routing path at a tiny scale, with the real caption encoder
/// (all-MiniLM-L6-v2, fetched by the setup into .deps/minilm): synthetic corpus → caption
/// embeddings → fine and coarse clusters (one coarse cluster per domain) → assignment; then each
/// domain's fine-grained task, routed by its class names, must go mostly to the expert whose
/// clusters hold most of that domain's training captions.
@Suite struct DomainRoutingTests {
    @Test func domainTasksRouteToTheirDomainsExpert() throws {
        guard let model = SentenceModelLocation.defaultMiniLM(),
              FileManager.default.fileExists(atPath: model + "/model.safetensors") else {
            Issue.record("all-MiniLM-L6-v2 is missing (.deps/minilm); run scripts/fetch_minilm.sh")
            return
        }
        let dir = try TempDirectory()
        let shards = try resolveShards(smallSynthCorpus(dir.file("corpus"), pairs: 1200, shardSize: 400, tasksPerClass: 1))
        let encoder = try SentenceEncoder(directory: model)
        _ = try ShardEmbedding.run(shards: shards, outDirectory: dir.file("features"), embedder: encoder)
        var options = ClusterOptions()
        options.fine = 40
        options.coarse = 5
        options.sample = 1
        options.iterations = 20
        _ = try FeatureClustering.run(features: dir.file("features"), out: dir.file("clusters"), options: options)
        let clustersFile = dir.file("clusters/clusters.safetensors")
        _ = try ShardAssignment.run(features: dir.file("features"), clusters: clustersFile, out: dir.file("assign"))
        let hierarchy = try ClusterHierarchy(contentsOf: clustersFile)
        let assignments = try AssignmentSet(directory: dir.file("assign"), hierarchy: hierarchy)

        // True domain of every training pair (recorded in the synthetic corpus's JSON for analysis).
        var counts: [String: [Int]] = [:]  // domain → pairs per expert
        for shard in shards {
            let reader = try ShardReader(path: shard)
            while let s = reader.next() {
                guard let json = s.fields["json"],
                      let obj = try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any],
                      let domain = obj["domain"] as? String, let c = assignments.coarse(shard: shard, key: s.key) else { continue }
                counts[domain, default: [Int](repeating: 0, count: 5)][Int(c)] += 1
            }
        }
        var experts: [[Int32]] = Array(repeating: [], count: hierarchy.coarseCount)
        for (f, c) in hierarchy.fineToCoarse.enumerated() { experts[Int(c)].append(Int32(f)) }
        let router = try Router(fineCentres: hierarchy.fineCentres, expertFine: experts, options: RoutingOptions(method: .paper))
        var routedRight = 0
        for domain in SynthDomain.allCases {
            let task = try BenchmarkTask.discover(dir.file("corpus/tasks"), only: domain.rawValue)[0]
            let e = ClassEmbedding.embed(classNames: task.classnames, templates: task.templates, encoder: encoder)
            let w = try router.route(e).weights
            let best = w.indices.max { w[$0] < w[$1] }!
            let home = counts[domain.rawValue]!.indices.max { counts[domain.rawValue]![$0] < counts[domain.rawValue]![$1] }!
            // The weights are a distribution; the home expert should lead with ≥ 1.5× the runner-up.
            #expect(abs(w.reduce(0, +) - 1) < 1e-9 && w.allSatisfy { $0 >= 0 })
            let second = w.enumerated().filter { $0.offset != best }.map(\.element).max() ?? 0
            if best == home && w[best] >= 1.5 * second { routedRight += 1 }
            print("\(domain.rawValue): home expert \(home) (pairs per expert \(counts[domain.rawValue]!)), weights \(w.map { String(format: "%.3f", $0) })")
        }
        // Five domains, five experts: every domain task routes to its home expert. One miss is
        // tolerated because two small domains can share a coarse cluster.
        #expect(routedRight >= 4, "only \(routedRight) of 5 domain tasks routed to their home expert")
    }
}
