"""What happens when a page passes its approval workflow (WAGTAIL_FINISH_WORKFLOW_ACTION)."""


def publish_approved_revision(workflow_state, user=None):
    """Publish the approved revision. Approval by another QA lead is what authorises
    publishing, so QA leads hold no direct "publish" permission that would let them skip it."""
    revision = workflow_state.content_object.get_latest_revision()
    revision.publish(user=user, skip_permission_checks=True)
