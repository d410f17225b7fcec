// Tests for GraftService land with its issue.
