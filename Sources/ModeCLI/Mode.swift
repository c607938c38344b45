import ArgumentParser
import MoDE

@main
struct Mode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mode",
        abstract: "MoDE: CLIP data experts via clustering — native training, clustering and routed ensembles.",
        version: MoDEVersion.current,
        subcommands: [Info.self, Bench.self, Tokenize.self, Synth.self, Encode.self, Classify.self, Index.self, Search.self, Init.self, Convert.self, Train.self, Eval.self, Embed.self, Cluster.self, Assign.self, Experts.self, Route.self, EnsembleCommand.self, Serve.self, Demo.self]
    )
}
