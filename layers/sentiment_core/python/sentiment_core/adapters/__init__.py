"""AWS-facing adapters around the pure core: handler start-up, telemetry and the job store."""
