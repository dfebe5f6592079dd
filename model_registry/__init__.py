"""A versioned model registry in S3: publish, approve and fetch the serving artifact."""
