import Dispatch
import Foundation

/// Named, nested timing regions and per-shape GEMM accounting (`mode bench … --profile`).
///
/// Off by default. Every entry point first reads one global flag and, when it is off, does
/// nothing else: no clock read, no allocation, no lock. `region` is inlinable, so the off path
/// is a flag test and a direct call of the body.
///
/// When on (`start` … `stop`), each region records its call count and wall time, inclusive (the
/// whole call) and exclusive (less the regions entered inside it). A region's identity is its
/// path of names from the root, so the same layer code run under "vision.fwd" and "text.fwd"
/// is counted twice, once under each. Recording takes one lock: regions are meant around work
/// of a millisecond or more (a layer, a GEMM), not inside inner loops.
///
/// Threads: the profile is one per process. Regions are normally entered on the thread that
/// started the profile, around parallel work (the work itself runs in `Parallel.forEach`). A
/// region entered on another thread (a worker that runs whole batches, as the caption encoder
/// does) nests under the starting thread's current region, each thread keeping its own path;
/// its times are then thread time, summed over the threads that ran it (`Region.threaded`).
/// Regions and GEMMs of other threads outside any `Parallel.forEach` are not recorded.
public enum Profiler {
    @usableFromInline nonisolated(unsafe) static var enabled = false

    /// Whether a profile is being recorded.
    @inlinable public static var isEnabled: Bool { enabled }

    /// Runs `body` inside the region `name` (a short name; the path comes from the nesting).
    @inlinable
    public static func region<R>(_ name: StaticString, _ body: () throws -> R) rethrows -> R {
        if !enabled { return try body() }
        let token = enter(name)
        defer { exit(token) }
        return try body()
    }

    /// An entered region, for `exit`.
    public struct Token: Sendable {
        let node: Int
        let start: UInt64
        let thread: UInt
        let generation: Int
    }

    /// Enters the region `name` as a child of the calling thread's current region (nothing when
    /// off). Prefer `region`.
    public static func enter(_ name: StaticString) -> Token {
        if !enabled { return Token(node: -1, start: 0, thread: 0, generation: 0) }
        let now = clock()
        lock.lock()
        defer { lock.unlock() }
        let thread = currentThread(), worker = Parallel.insideRegion
        if thread != owner && !worker { return Token(node: -1, start: now, thread: thread, generation: 0) }
        let parent = current[thread] ?? current[owner] ?? 0
        let node = state.child(of: parent, named: name, threaded: thread != owner || worker)
        current[thread] = node
        return Token(node: node, start: now, thread: thread, generation: generation)
    }

    /// Leaves the region `token` entered (regions close in reverse order of entry on each thread).
    public static func exit(_ token: Token) {
        if token.node < 0 { return }
        let elapsed = clock() &- token.start
        lock.lock()
        defer { lock.unlock() }
        // A region entered before the profile was stopped or restarted is dropped.
        if !enabled || token.generation != generation { return }
        let parent = state.close(token.node, elapsed: elapsed)
        if token.thread != owner && parent == (current[owner] ?? 0) {
            current[token.thread] = nil
        } else {
            current[token.thread] = parent
        }
    }

    /// Records one GEMM call (or `batch` equal products) of op(A) (m, k) · op(B) (k, n) that took
    /// `nanoseconds`. `Matmul` calls this; `threaded` is whether the caller ran on a worker of a
    /// parallel region (then the product ran on one thread).
    public static func recordGEMM(m: Int, n: Int, k: Int, transA: Bool, transB: Bool, batch: Int = 1,
                                  threaded: Bool, nanoseconds: UInt64) {
        let key = GEMMShape(m: m, n: n, k: k, transA: transA, transB: transB, batch: batch, threaded: threaded)
        lock.lock()
        defer { lock.unlock() }
        if !threaded && currentThread() != owner { return }
        var s = gemms[key] ?? GEMMStat(order: gemms.count)
        s.calls += 1
        s.nanoseconds += nanoseconds
        gemms[key] = s
    }

    /// The profile's clock (the fake one of `start(clock:)` in tests).
    static func now() -> UInt64 { clock() }

    /// Whether the calling thread's GEMMs are recorded: the starting thread's, and those of
    /// workers of a parallel region (`owner` changes only in `start`).
    static var recordsCallingThread: Bool { currentThread() == owner || Parallel.insideRegion }

    /// A monotonic time stamp in nanoseconds (`DispatchTime`).
    public static func monotonicNanoseconds() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Clears any previous profile and starts recording on the calling thread. `clock` replaces
    /// the monotonic clock (tests use a fake one).
    public static func start(clock: @escaping () -> UInt64 = Profiler.monotonicNanoseconds) {
        lock.lock()
        defer { lock.unlock() }
        self.clock = clock
        state = Tree()
        gemms = [:]
        owner = currentThread()
        current = [:]
        generation += 1
        enabled = true
    }

    /// Stops recording and returns what was recorded since `start`, in nanoseconds.
    @discardableResult
    public static func stop() -> ProfileRecord {
        lock.lock()
        defer { lock.unlock() }
        enabled = false
        clock = Profiler.monotonicNanoseconds
        return ProfileRecord(
            regions: state.flattened(),
            gemms: gemms.sorted { $0.value.order < $1.value.order }.map { ProfileRecord.GEMM(shape: $0.key, calls: $0.value.calls, nanoseconds: $0.value.nanoseconds) })
    }

    // MARK: state (guarded by `lock`)

    nonisolated(unsafe) private static var clock: () -> UInt64 = Profiler.monotonicNanoseconds
    private static let lock = NSLock()
    nonisolated(unsafe) private static var state = Tree()
    nonisolated(unsafe) private static var gemms: [GEMMShape: GEMMStat] = [:]
    nonisolated(unsafe) private static var owner: UInt = 0
    /// Counts `start`s, so that a token from an earlier profile is ignored.
    nonisolated(unsafe) private static var generation = 0
    /// Each thread's current region (node index); absent: the owner's current region.
    nonisolated(unsafe) private static var current: [UInt: Int] = [:]

    private static func currentThread() -> UInt {
        #if canImport(Glibc)
        return UInt(pthread_self())
        #else
        return UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(pthread_self())))
        #endif
    }

    private struct GEMMStat {
        let order: Int
        var calls = 0
        var nanoseconds: UInt64 = 0
        init(order: Int) { self.order = order }
    }

    /// The region tree; node 0 is the root (no name, never timed).
    private struct Tree {
        struct Node {
            let name: String
            let parent: Int
            let depth: Int
            var threaded: Bool
            /// Children by name: the literal's address first (fast), its text on a miss.
            var children: [(key: UnsafeRawPointer?, node: Int)] = []
            var calls = 0
            var inclusive: UInt64 = 0
            var inChildren: UInt64 = 0
        }
        var nodes = [Node(name: "", parent: -1, depth: -1, threaded: false)]

        mutating func child(of parent: Int, named name: StaticString, threaded: Bool) -> Int {
            let key = name.hasPointerRepresentation ? UnsafeRawPointer(name.utf8Start) : nil
            if let key, let hit = nodes[parent].children.first(where: { $0.key == key }) { return hit.node }
            let text = name.description
            let node: Int
            if let same = nodes[parent].children.first(where: { nodes[$0.node].name == text }) {
                node = same.node
                nodes[node].threaded = nodes[node].threaded || threaded
            } else {
                node = nodes.count
                nodes.append(Node(name: text, parent: parent, depth: nodes[parent].depth + 1, threaded: threaded))
            }
            nodes[parent].children.append((key, node))
            return node
        }

        /// Adds one call of `node`; returns its parent.
        mutating func close(_ node: Int, elapsed: UInt64) -> Int {
            nodes[node].calls += 1
            nodes[node].inclusive &+= elapsed
            let parent = nodes[node].parent
            nodes[parent].inChildren &+= elapsed
            return parent
        }

        /// Depth-first, children in order of first entry.
        func flattened() -> [ProfileRecord.Region] {
            var out: [ProfileRecord.Region] = []
            func visit(_ i: Int, _ path: String) {
                var seen = Set<Int>()
                for c in nodes[i].children where seen.insert(c.node).inserted {
                    let n = nodes[c.node]
                    let p = path.isEmpty ? n.name : path + "/" + n.name
                    out.append(.init(path: p, depth: n.depth, calls: n.calls, inclusive: n.inclusive,
                                     exclusive: n.inclusive &- min(n.inclusive, n.inChildren), threaded: n.threaded))
                    visit(c.node, p)
                }
            }
            visit(0, "")
            return out
        }
    }
}

/// A GEMM call's shape: op(A) (m, k) · op(B) (k, n), `batch` equal products per call, and
/// whether it ran single-threaded on a worker of a parallel region.
public struct GEMMShape: Hashable, Sendable, Codable {
    public var m, n, k: Int
    public var transA, transB: Bool
    public var batch: Int
    public var threaded: Bool

    public init(m: Int, n: Int, k: Int, transA: Bool = false, transB: Bool = false, batch: Int = 1, threaded: Bool = false) {
        (self.m, self.n, self.k, self.transA, self.transB, self.batch, self.threaded) = (m, n, k, transA, transB, batch, threaded)
    }

    /// Floating-point operations of one call: 2·m·n·k per product.
    public var flops: Double { 2 * Double(m) * Double(n) * Double(k) * Double(batch) }

    /// "m×n×k" with the transposes ("ᵀ" after the operand), and "b·" for batched calls.
    public var label: String {
        (batch > 1 ? "\(batch)·" : "") + "\(m)×\(n)×\(k) A\(transA ? "ᵀ" : "")B\(transB ? "ᵀ" : "")"
    }
}

/// What `Profiler.stop` returns: raw totals in nanoseconds.
public struct ProfileRecord: Sendable {
    public struct Region: Sendable, Equatable {
        /// Names from the root, joined by "/".
        public var path: String
        /// 0 for a top-level region.
        public var depth: Int
        public var calls: Int
        public var inclusive: UInt64
        public var exclusive: UInt64
        /// Entered on worker threads: times are summed over them.
        public var threaded: Bool

        public init(path: String, depth: Int, calls: Int, inclusive: UInt64, exclusive: UInt64, threaded: Bool = false) {
            (self.path, self.depth, self.calls, self.inclusive, self.exclusive, self.threaded) = (path, depth, calls, inclusive, exclusive, threaded)
        }
    }

    public struct GEMM: Sendable {
        public var shape: GEMMShape
        public var calls: Int
        public var nanoseconds: UInt64

        public init(shape: GEMMShape, calls: Int, nanoseconds: UInt64) {
            (self.shape, self.calls, self.nanoseconds) = (shape, calls, nanoseconds)
        }
    }

    public var regions: [Region]
    public var gemms: [GEMM]

    public init(regions: [Region], gemms: [GEMM]) {
        (self.regions, self.gemms) = (regions, gemms)
    }

    /// The region at `path`, if it was entered.
    public func region(_ path: String) -> Region? { regions.first { $0.path == path } }
}
