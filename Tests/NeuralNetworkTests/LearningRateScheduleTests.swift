// Learning-rate schedules against their closed forms.
import Foundation
import Testing
@testable import NeuralNetwork

struct LearningRateScheduleTests {
    @Test func constantAndStep() {
        #expect(ConstantSchedule(learningRate: 0.3).learningRate(atStep: 17, totalSteps: 20) == 0.3)
        let step = StepSchedule(learningRate: 1, stepSize: 3, gamma: 0.5)
        let rates = (0..<8).map { step.learningRate(atStep: $0, totalSteps: 8) }
        #expect(rates == [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25])
    }

    @Test func cosineFallsFromTheRateToTheFloor() {
        let cosine = CosineSchedule(learningRate: 0.1, minimumLearningRate: 0.01)
        #expect(cosine.learningRate(atStep: 0, totalSteps: 10) == 0.1)
        #expect(abs(cosine.learningRate(atStep: 5, totalSteps: 10) - 0.055) < 1e-7)
        #expect(abs(cosine.learningRate(atStep: 10, totalSteps: 10) - 0.01) < 1e-7)
        #expect(abs(cosine.learningRate(atStep: 12, totalSteps: 10) - 0.01) < 1e-7)
        for t in 0...10 {
            let expected = 0.01 + 0.09 * (1 + cos(Double.pi * Double(t) / 10)) / 2
            #expect(abs(Double(cosine.learningRate(atStep: t, totalSteps: 10)) - expected) < 1e-8)
        }
    }

    @Test func warmupRisesLinearlyThenHandsOver() {
        let schedule = WarmupSchedule(warmupSteps: 4, startFactor: 0.25,
                                      then: CosineSchedule(learningRate: 0.2, minimumLearningRate: 0))
        let rates = (0..<12).map { Double(schedule.learningRate(atStep: $0, totalSteps: 12)) }
        // Warm-up: 0.2 · (0.25 + 0.75·t/4) for t = 0…3.
        for (t, rate) in rates.prefix(4).enumerated() {
            #expect(abs(rate - 0.2 * (0.25 + 0.75 * Double(t) / 4)) < 1e-8)
        }
        // Then cosine over the remaining 8 steps, starting at its own step 0.
        for t in 4..<12 {
            #expect(abs(rates[t] - 0.1 * (1 + cos(Double.pi * Double(t - 4) / 8))) < 1e-8)
        }
        let constant = WarmupSchedule(warmupSteps: 2, then: ConstantSchedule(learningRate: 0.3))
        #expect(abs(constant.learningRate(atStep: 0, totalSteps: 5) - 0.1) < 1e-7)
        #expect(constant.learningRate(atStep: 2, totalSteps: 5) == 0.3)
    }
}
