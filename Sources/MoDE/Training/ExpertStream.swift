import MoDEClustering
import Foundation

/// Builds an expert's sample selection from the files of `mode cluster` and `mode assign`.
public enum ExpertStream {
    /// The selection of expert `experts` (coarse cluster ids), the expected samples per pass
    /// and the total of assigned pairs. Throws when a cluster id is out of range or the
    /// assignment does not match the clusters.
    public static func selection(clusters: String, assign: String, experts: Set<Int32>, oocRatio: Double,
                                 seed: UInt64) throws -> (selection: ExpertSelection, expected: Double, total: Int) {
        let file = FeatureClustering.hierarchyPath(clusters)
        guard FileManager.default.fileExists(atPath: file) else {
            throw TrainingError.invalidOption("no cluster file \(file) (run `mode cluster` first)")
        }
        let hierarchy = try ClusterHierarchy(contentsOf: file)
        if let bad = experts.first(where: { Int($0) >= hierarchy.coarseCount }) {
            throw TrainingError.invalidOption("expert \(bad) does not exist: \(file) has \(hierarchy.coarseCount) coarse clusters (0..<\(hierarchy.coarseCount))")
        }
        let set = try AssignmentSet(directory: assign, hierarchy: hierarchy)
        let selection = try ExpertSelection(clusters: experts, outOfClusterRatio: oocRatio, seed: seed, assignments: set)
        let counts = set.countsPerCoarse
        return (selection, selection.expectedSamples(countsPerCoarse: counts), counts.reduce(0, +))
    }
}
