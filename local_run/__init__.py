"""Run the service on this machine: moto as the AWS endpoint, the Lambda handlers served over HTTP."""
