//! The label values of the info series that name routing points and menu options
//! (`wolkvox_ivr_routing_point_info`, `wolkvox_ivr_menu_option_info`): set at start and at
//! each reload, and encoded then with the exporter's own families, never at scrape time.

/// The rows of the two info families, each in its family's label order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameInfo {
    /// (operation, rp_id, name).
    pub routing_points: Vec<Box<[String]>>,
    /// (operation, rp_id, cod_opc_menu, name, category).
    pub options: Vec<Box<[String]>>,
}
