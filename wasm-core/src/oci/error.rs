//! Why a layer stream cannot be read, an image's tree built from layers, or
//! the boot transformation applied. Errors of the formats below (tar,
//! splitstream, tree) keep their kind, with the layer and member prepended.

crate::error::module_error!(
    /// An OCI layer or image this core refuses.
    Error,
    from: crate::tar::TarError, crate::splitstream::Error, crate::tree::TreeError, super::paths::PathError
);
