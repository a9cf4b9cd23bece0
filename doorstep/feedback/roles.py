from doorstep.core.roles import Role

# Compliance officers handle every complaint; team leads those about their own teams; managers see and may
# handle all of them.
PERMISSIONS: dict[Role, list[str]] = {
    Role.ADMIN: ["feedback.view_feedback", "feedback.handle_complaints"],
    Role.MANAGER: ["feedback.view_feedback", "feedback.handle_complaints"],
    Role.COMPLIANCE: ["feedback.view_feedback", "feedback.handle_complaints"],
    Role.SUPERVISOR: ["feedback.view_feedback", "feedback.handle_complaints"],
}
