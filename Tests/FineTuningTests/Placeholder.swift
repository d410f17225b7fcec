// Tests for FineTuning land with its issue.
