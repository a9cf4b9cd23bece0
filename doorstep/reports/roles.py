from doorstep.core.roles import Role

PERMISSIONS: dict[Role, list[str]] = {
    Role.ADMIN: ["reports.view_dashboards", "reports.view_bank_reports"],
    Role.MANAGER: ["reports.view_dashboards", "reports.view_bank_reports"],
    Role.COMPLIANCE: ["reports.view_dashboards", "reports.view_bank_reports"],
    Role.SUPERVISOR: ["reports.view_dashboards"],
    Role.COLLECTOR: ["reports.view_dashboards"],
}
