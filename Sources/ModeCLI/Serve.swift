import ArgumentParser
import Foundation
import MoDE
import MoDEServe

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve zero-shot classification, routing and embeddings over HTTP (JSON).",
        discussion: """
            Endpoints: POST /v1/classify, /v1/route, /v1/embed/text, /v1/embed/image; GET /healthz, \
            /readyz (503 until the models are loaded). See README for the bodies.

            Images of concurrent requests share forward passes (up to --max-batch, waiting at most \
            --batch-wait-ms for more); a request that would put more than --max-queue images in \
            the queue gets 429 with Retry-After. Answers equal `mode classify`'s on the same \
            images and labels. Binds to loopback unless --host says otherwise; put a TLS proxy in \
            front for anything else.
            """)

    @Option(help: "The experts manifest (experts.json): route each request's labels and ensemble the experts.") var experts: String?
    @Option(help: "Model weights: a .safetensors file, checkpoint folder, open_clip hub folder or run folder.") var checkpoint: String?
    @Option(help: "Model config with --checkpoint: a preset or an open_clip JSON file.") var config: String?
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on.") var port = 8080
    @Option(help: "Images per forward pass at most.") var maxBatch = 32
    @Option(help: "Milliseconds to wait for more images once a batch has its first.") var batchWaitMs = 5
    @Option(help: "Images waiting at most; beyond, requests get 429.") var maxQueue = 256
    @Option(help: "Largest request body, in MiB (413 beyond).") var maxBodyMb = 32
    @Option(name: .customLong("idle-timeout-s"), help: "Seconds a connection may stay idle before it is closed.") var idleTimeout = 30
    @Option(help: "A file holding the bearer token every endpoint but /healthz then needs.") var tokenFile: String?
    @Option(help: "Run only the K highest-weighted experts of a request (weights renormalised); default: all.") var topExperts: Int?
    @OptionGroup(title: "Compute") var compute: ComputeOptions

    func validate() throws {
        guard (experts == nil) != (checkpoint == nil) else { throw ValidationError("give --experts or --checkpoint (one of them)") }
        guard experts == nil || config == nil else { throw ValidationError("--config goes with --checkpoint (the manifest names each expert's)") }
        guard maxBodyMb > 0 else { throw ValidationError("--max-body-mb must be positive") }
    }

    func run() throws {
        try compute.apply()
        var config = ServeConfig(source: experts.map { .experts($0) } ?? .checkpoint(checkpoint!, config: self.config))
        config.maxBatch = maxBatch
        config.batchWaitMs = batchWaitMs
        config.maxQueue = maxQueue
        config.topExperts = topExperts
        var options = HTTPOptions()
        options.host = host
        options.port = port
        options.maxBodyBytes = maxBodyMb << 20
        options.idleTimeoutSeconds = idleTimeout
        options.token = try tokenFile.map(HTTPOptions.readToken)
        try ServeMain.run(config, options: options) { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
    }
}
