// libsecsipid (Debian: libsecsipid-dev): STIR/SHAKEN PASSporT signing and verification,
// linked only by the secsipid module.
#include <secsipid.h>
