"""Events in and out: S3 notifications received, failure notices sent."""
