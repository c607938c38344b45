import MoDETensor

/// A lookup table, PyTorch's `nn.Embedding`: `weight` (V, C); row i is the vector of id i.
public struct Embedding: Sendable {
    public let weight: Param
    public let vocabulary: Int
    public let width: Int

    /// Declares `weight` (V, C) under `scope` (e.g. `token_embedding`).
    public init(_ scope: ParameterScope, vocabulary: Int, width: Int) {
        self.vocabulary = vocabulary
        self.width = width
        weight = scope.add("weight", [vocabulary, width])
    }

    /// y (n, C) = weight[ids[i]] for the n ids (B·T of them, row-major). Stops the process with a
    /// message naming the id and its position if an id lies outside 0..<V.
    public func forward(_ y: UnsafeMutablePointer<Float>, ids: UnsafePointer<Int32>, count n: Int,
                        _ arena: ParameterArena) {
        validate(ids, count: n)
        let w = arena.value(weight)
        Parallel.forEach(n, grain: 64) { range in
            for i in range { (y + i * width).update(from: w + Int(ids[i]) * width, count: width) }
        }
    }

    /// Backward of `forward`: accumulates dW[ids[i]] += dy[i] into the arena's gradient, adding
    /// rows in id order (deterministic: threads split the columns, not the ids).
    public func backward(dy: UnsafePointer<Float>, ids: UnsafePointer<Int32>, count n: Int, _ arena: ParameterArena) {
        validate(ids, count: n)
        let g = arena.grad(weight)
        Parallel.forEach(width, grain: 64) { cols in
            for i in 0..<n {
                let src = dy + i * width, dst = g + Int(ids[i]) * width
                for c in cols { dst[c] += src[c] }
            }
        }
    }

    /// Stops on an id outside 0..<V, in every build configuration (a `precondition` would vanish
    /// under -Ounchecked, and a bad id would then read and write outside the table).
    private func validate(_ ids: UnsafePointer<Int32>, count n: Int) {
        for i in 0..<n where ids[i] < 0 || Int(ids[i]) >= vocabulary {
            fatalError("Embedding: id \(ids[i]) at position \(i) is outside the vocabulary 0..<\(vocabulary)")
        }
    }
}

/// A learned table added to every sequence of a batch: `name` (T, C) (open_clip's
/// `positional_embedding`, declared directly on the module).
public struct PositionalEmbedding: Sendable {
    public let weight: Param
    public let tokens: Int
    public let width: Int

    /// Declares `name` (T, C) under `scope`.
    public init(_ scope: ParameterScope, name: String = "positional_embedding", tokens: Int, width: Int) {
        self.tokens = tokens
        self.width = width
        weight = scope.add(name, [tokens, width])
    }

    /// y (B, T, C) = x (B, T, C) + pos[0..<T] for each sequence; T = `tokens`, by default the
    /// table's. y may be x (in place).
    public func forward(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, batch: Int, tokens: Int? = nil,
                        _ arena: ParameterArena) {
        let t = tokens ?? self.tokens
        precondition(t >= 0 && t <= self.tokens, "\(t) tokens for a table of \(self.tokens)")
        let pos = arena.value(weight)
        let n = t * width
        Parallel.forEach(batch) { range in
            for b in range {
                let xs = x + b * n, ys = y + b * n
                for i in 0..<n { ys[i] = xs[i] + pos[i] }
            }
        }
    }

    /// Backward of `forward` (dy (B, T, C), T as there): accumulates dpos[0..<T] += Σ_b dy[b] into
    /// the arena's gradient. dy passes through unchanged: pass dx to have it copied (or added, when
    /// `accumulate` is true) there, or nil to use dy itself as the input's gradient.
    public func backward(dx: UnsafeMutablePointer<Float>?, dy: UnsafePointer<Float>, batch: Int, tokens: Int? = nil,
                         _ arena: ParameterArena, accumulate: Bool = false) {
        let t = tokens ?? self.tokens
        precondition(t >= 0 && t <= self.tokens, "\(t) tokens for a table of \(self.tokens)")
        addColumnSums(arena.grad(weight), dy, rows: batch, cols: t * width)
        guard let dx else { return }
        let n = batch * t * width
        if accumulate {
            for i in 0..<n { dx[i] += dy[i] }
        } else if UnsafePointer(dx) != dy {
            dx.update(from: dy, count: n)
        }
    }
}
