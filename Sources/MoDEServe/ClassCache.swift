import Foundation
import MoDE

/// A least-recently-used cache of class embeddings, keyed by (labels, templates): the caption
/// encoder's class embeddings that routing reads, and each expert's zero-shot text classifier,
/// computed the first time an expert needs it.
final class ClassCache: @unchecked Sendable {
    struct Key: Hashable {
        let labels: [String]
        let templates: [String]
    }

    /// The class embeddings of one label set.
    final class Entry: @unchecked Sendable {
        let key: Key
        /// (labels, D) for routing; nil without a caption encoder (one checkpoint).
        let routing: Tensor?
        private var classifiers: [Int: Tensor] = [:]
        private let lock = NSLock()

        init(key: Key, routing: Tensor?) {
            self.key = key
            self.routing = routing
        }

        /// Expert `index`'s classifier (labels, E), unit rows, made once.
        func classifier(_ index: Int, models: ServeModels) -> Tensor {
            lock.lock()
            defer { lock.unlock() }
            if let c = classifiers[index] { return c }
            let c = models.withModel(index) { model in
                ZeroShotClassifier(model: model, tokenizer: models.tokenizer, classNames: key.labels, templates: key.templates).weights
            }
            classifiers[index] = c
            return c
        }
    }

    let capacity: Int
    private var entries: [Key: Entry] = [:]
    /// Keys, least recently used first.
    private var order: [Key] = []
    private let lock = NSLock()
    private(set) var hits = 0
    private(set) var misses = 0

    init(capacity: Int) { self.capacity = capacity }

    /// The entry of `labels` × `templates`, made with `make` on a miss (outside the lock, so a
    /// slow miss blocks no hit); the least recently used entry goes when the cache is full.
    func entry(labels: [String], templates: [String], make: (Key) -> Entry) -> Entry {
        let key = Key(labels: labels, templates: templates)
        lock.lock()
        if let e = entries[key] {
            hits += 1
            touch(key)
            lock.unlock()
            return e
        }
        misses += 1
        lock.unlock()
        let e = make(key)
        lock.lock()
        defer { lock.unlock() }
        if let raced = entries[key] { touch(key); return raced }
        entries[key] = e
        order.append(key)
        if order.count > capacity { entries[order.removeFirst()] = nil }
        return e
    }

    /// Entries held now.
    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return entries.count
    }

    private func touch(_ key: Key) {
        if let i = order.firstIndex(of: key) { order.remove(at: i) }
        order.append(key)
    }
}
