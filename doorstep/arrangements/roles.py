from doorstep.core.roles import Role

PERMISSIONS: dict[Role, list[str]] = {
    Role.ADMIN: ["arrangements.view_repaymentplan", "arrangements.propose_plan", "arrangements.approve_plan"],
    Role.MANAGER: ["arrangements.view_repaymentplan", "arrangements.propose_plan", "arrangements.approve_plan"],
    Role.SUPERVISOR: ["arrangements.view_repaymentplan", "arrangements.propose_plan", "arrangements.approve_plan"],
    Role.COLLECTOR: ["arrangements.view_repaymentplan", "arrangements.propose_plan"],
    Role.COMPLIANCE: ["arrangements.view_repaymentplan"],
}
