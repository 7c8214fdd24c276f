# The Amazon sandbox fixtures, until the root conftest lists "integrations.sandbox.amazon.fixtures" in
# pytest_plugins. (pytest refuses pytest_plugins in a conftest below the rootdir, so they are imported.)
from integrations.sandbox.amazon.fixtures import amazon_sandbox, amazon_sandbox_server  # noqa: F401
