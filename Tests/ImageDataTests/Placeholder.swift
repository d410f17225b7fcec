// Tests for ImageData land with its issue.
