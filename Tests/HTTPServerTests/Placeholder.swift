// Tests for HTTPServer land with its issue.
