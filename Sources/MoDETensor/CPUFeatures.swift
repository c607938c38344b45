import Foundation

/// CPU model and instruction-set features, read from /proc/cpuinfo (Linux).
public struct CPUFeatures: Sendable {
    public var model: String
    /// `vendor_id`, e.g. GenuineIntel or AuthenticAMD.
    public var vendor: String = "unknown"
    public var flags: Set<String>

    public var avx2: Bool { flags.contains("avx2") }
    public var fma: Bool { flags.contains("fma") }
    public var avx512f: Bool { flags.contains("avx512f") }

    /// The features of the machine this process runs on.
    public static let current: CPUFeatures = {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else {
            return CPUFeatures(model: "unknown", flags: [])
        }
        var model = "unknown"
        var vendor = "unknown"
        var flags = Set<String>()
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { continue }
            if parts[0] == "model name", model == "unknown" { model = parts[1] }
            if parts[0] == "vendor_id", vendor == "unknown" { vendor = parts[1] }
            if parts[0] == "flags", flags.isEmpty { flags = Set(parts[1].split(separator: " ").map(String.init)) }
        }
        return CPUFeatures(model: model, vendor: vendor, flags: flags)
    }()

    /// The SIMD-relevant subset, in a stable order, for reports.
    public var summary: [String] {
        ["sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_bf16", "avx512_vnni", "amx_tile"]
            .filter { flags.contains($0) }
    }
}
