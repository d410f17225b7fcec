import ArgumentParser
import Tensors

/// The `graft` command line: a thin layer over the library targets, one file per subcommand.
@main
struct Graft: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fine-tune pretrained CNNs on your images and serve predictions.",
        version: "0.1.0 (oneDNN \(OneDNN.version))",
        subcommands: [Serve.self, Bench.self, Models.self, Import.self, Export.self, Pretrain.self, Finetune.self,
                      Predict.self])
}
