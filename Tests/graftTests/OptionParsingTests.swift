// What the `graft` command line decides on its own: how options become a fine-tuning spec, which values it
// refuses before any work starts, and how it shows durations.
import ArgumentParser
import FineTuning
import Testing
@testable import graft

@Suite struct OptionParsingTests {
    @Test func finetuneOptionsOverrideTheSpecDefaults() throws {
        let command = try Finetune.parse(["--fashion-mnist", "5,6,7", "--epochs", "3", "--batch-size", "16",
                                          "--learning-rate", "0.5", "--optimizer", "sgd", "--freeze", "until:layer2_relu2",
                                          "--augment", "--augmented-views", "2", "--no-feature-cache", "--seed", "9"])
        let spec = try command.makeSpec()
        var expected = FineTuneSpec()
        expected.epochs = 3
        expected.batchSize = 16
        expected.learningRate = 0.5
        expected.optimizer = .sgd
        expected.freeze = .until("layer2_relu2")
        expected.augmentation = .standard
        expected.augmentedViews = 2
        expected.featureCache = false
        expected.seed = 9
        #expect(spec == expected)
        #expect(try Finetune.parse(["--data", "x"]).makeSpec() == FineTuneSpec(), "no options: the defaults")
    }

    @Test(arguments: [
        (["--data", "x", "--fashion-mnist", "5,6"], "exactly one of --data and --fashion-mnist"),
        ([], "exactly one of --data and --fashion-mnist"),
        (["--fashion-mnist", "5"], "two or more distinct class indices"),
        (["--fashion-mnist", "5,5"], "two or more distinct class indices"),
        (["--fashion-mnist", "5,x"], "two or more distinct class indices"),
        (["--fashion-mnist", "5,10"], "two or more distinct class indices"),
        (["--data", "x", "--freeze", "top"], "--freeze must be auto, backbone, none, until:<node> or layers:<N>"),
        (["--data", "x", "--freeze", "until:"], "--freeze must be"),
        (["--data", "x", "--optimizer", "rmsprop"], "--optimizer must be sgd, adam or adamw"),
        (["--data", "x", "--epochs", "0"], "epochs: must be from 1 to 10000"),
        (["--data", "x", "--learning-rate=-1"], "learning_rate: must be a number from 1e-10 to 10"),
    ])
    func finetuneRefusesImpossibleOptions(arguments: [String], message: String) {
        #expect {
            _ = try Finetune.parse(arguments)
        } throws: { error in
            Finetune.message(for: error).contains(message)
        }
    }

    @Test func threadsAreSharedAndChecked() throws {
        #expect(try Bench.Inference.parse(["m", "--threads", "1"]).lane.threads == 1)
        #expect(try Bench.TrainStep.parse(["--threads", "2"]).lane.threads == 2)
        #expect(throws: (any Error).self) { _ = try Bench.Kernels.parse(["--threads", "0"]) }
    }

    @Test(arguments: [(0.4, "0s"), (59.6, "1m00s"), (61, "1m01s"), (3599, "59m59s"), (Double.nan, "?"),
                      (Double.infinity, "?")])
    func durationsAreShort(seconds: Double, text: String) {
        #expect(ProgressBar.duration(seconds) == text)
    }
}
