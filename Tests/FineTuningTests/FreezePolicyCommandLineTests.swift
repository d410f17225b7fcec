// The command-line spelling of freeze policies: each form, and what is not one.
import FineTuning
import Testing

@Suite struct FreezePolicyCommandLineTests {
    @Test(arguments: [
        ("backbone", FreezePolicy.backbone), ("none", .none), ("until:layer2_relu2", .until("layer2_relu2")),
        ("layers:3", .trainableLayers(3)),
    ])
    func forms(text: String, policy: FreezePolicy) {
        #expect(FreezePolicy(commandLine: text) == policy)
    }

    @Test(arguments: ["", "Backbone", "until:", "layers:", "layers:x", "layers", "all", " none"])
    func notAPolicy(text: String) {
        #expect(FreezePolicy(commandLine: text) == nil)
    }
}
